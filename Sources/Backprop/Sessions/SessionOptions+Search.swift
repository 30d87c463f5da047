extension SessionOptions {
  /// These options with one setting of a search applied: each `name=value`
  /// either fills the `{name}` placeholder of the model spec or sets the
  /// option of that name (``set(_:to:)``), its value read as the option's type.
  ///
  /// - Throws: ``SessionError`` when a name is neither an option nor a
  ///   placeholder, a value is not of its option's type, a placeholder is
  ///   left without a value, or the result is out of range.
  public func applying(_ setting: [(name: String, value: String)]) throws(SessionError) -> SessionOptions {
    var result = self
    var model = self.model
    for (name, value) in setting {
      if let text = model, text.contains("{\(name)}") {
        model = text.split(separator: "{\(name)}", omittingEmptySubsequences: false).joined(separator: value)
      } else if SessionOptions.hasOption(name) {
        try result.set(name, to: value)
      } else {
        throw SessionError(
          option: name, line: "'\(name)' is neither an option of train nor a {\(name)} placeholder in --model")
      }
    }
    if let model, let open = model.firstIndex(of: "{") {
      throw SessionError(
        option: "--model",
        message: "placeholder \(model[open...].prefix { $0 != "}" })} has no values in the search space")
    }
    result.model = model
    try result.validate()
    return result
  }
}
