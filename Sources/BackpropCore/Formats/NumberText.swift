extension Float {
  /// The value as a message shows it: a whole number without `.0`
  /// (label 3, not 3.0), anything else as Swift prints it.
  public var messageText: String {
    isFinite && rounded() == self && abs(self) < 1e9 ? String(Int(self)) : "\(self)"
  }
}
