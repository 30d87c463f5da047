/// Which columns of a CSV file are read, and how its labels are read: the
/// label column by name, the features by name (or every other column but
/// those dropped), and the classes' names for text labels.
public struct ColumnSelection: Sendable, Hashable {
  /// The column that holds the labels.
  public var labelColumn: String
  /// The feature columns by name, in the order the model takes them; `nil`
  /// takes every column but the label column and ``dropColumns``, in file order.
  public var featureColumns: [String]?
  /// Columns left out of the features (an `id`, say).
  public var dropColumns: [String]
  /// The classes, in the order of their indices: text labels are looked up
  /// here. `nil` reads labels as numbers, or, when they are text, takes the
  /// sorted distinct labels as the classes.
  public var classNames: [String]?
  /// Where the feature columns' names came from, as messages say it
  /// (`named by --feature-columns`, or the weights a model was saved in).
  public var featuresNamedBy: String

  /// A selection; by default the labels are in `label` and every other
  /// column is a feature.
  public init(
    labelColumn: String = "label", featureColumns: [String]? = nil, dropColumns: [String] = [],
    classNames: [String]? = nil, featuresNamedBy: String = "named by --feature-columns"
  ) {
    self.labelColumn = labelColumn
    self.featureColumns = featureColumns
    self.dropColumns = dropColumns
    self.classNames = classNames
    self.featuresNamedBy = featuresNamedBy
  }

  /// Splits a comma-separated list of names (`a,b,c`), trimming spaces
  /// (an empty name stays, for the options' check to refuse).
  public static func names(_ text: String) -> [String] {
    text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingWhitespace() }
  }
}
