/// The library's version, written into the files it saves.
public enum BackpropVersion {
  /// The version as text.
  public static let string = "0.1.0"
}
