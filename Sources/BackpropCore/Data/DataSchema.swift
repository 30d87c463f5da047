/// What a model's training data looked like, kept with its weights so that
/// other files are read the same way: the feature columns by name, the
/// label column, and the classes' names.
public struct DataSchema: Sendable, Hashable {
  /// The feature columns, in the order of the model's inputs.
  public var featureNames: [String]?
  /// The CSV column that held the labels.
  public var labelColumn: String?
  /// The classes' names, label `i` being `classNames[i]`.
  public var classNames: [String]?

  /// A schema; `nil` parts are unknown.
  public init(featureNames: [String]? = nil, labelColumn: String? = nil, classNames: [String]? = nil) {
    self.featureNames = featureNames
    self.labelColumn = labelColumn
    self.classNames = classNames
  }

  /// The schema of `data`; `nil` when it knows nothing (a `.npy` or IDX
  /// file without class names).
  public init?(of data: Dataset) {
    guard data.featureNames != nil || data.classNames != nil else { return nil }
    self.init(featureNames: data.featureNames, labelColumn: data.labelColumn, classNames: data.classNames)
  }

  /// The JSON form: `{"features": [...], "label": "...", "classes": [...]}`,
  /// unknown parts left out.
  public var json: JSONValue {
    var members: [(String, JSONValue)] = []
    if let featureNames { members.append(("features", .array(featureNames.map { .string($0) }))) }
    if let labelColumn { members.append(("label", .string(labelColumn))) }
    if let classNames { members.append(("classes", .array(classNames.map { .string($0) }))) }
    return .object(members)
  }

  /// Reads the JSON form; `nil` if it is not one (a part of the wrong type,
  /// or names that repeat).
  public init?(json: JSONValue) {
    guard case .object = json else { return nil }
    func names(_ key: String) -> [String]?? {
      guard let value = json[key] else { return .some(nil) }
      guard case .array(let items) = value else { return nil }
      let names = items.compactMap(\.stringValue)
      guard names.count == items.count, Set(names).count == names.count else { return nil }
      return .some(names)
    }
    guard let featureNames = names("features"), let classNames = names("classes") else { return nil }
    self.featureNames = featureNames
    self.classNames = classNames
    if let label = json["label"] {
      guard let text = label.stringValue else { return nil }
      labelColumn = text
    }
  }
}
