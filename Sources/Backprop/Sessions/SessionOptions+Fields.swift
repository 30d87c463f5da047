/// The table of options by name: how each typed value is read from text,
/// written to and read from JSON, and laid over another set.
extension SessionOptions {
  /// One option.
  struct Field {
    /// The option's name, as on the command line without the dashes.
    let name: String
    /// What its values are, for messages (`a number`).
    let kind: String
    /// Whether it is a flag that takes no value on a command line.
    let isFlag: Bool
    /// Reads the value from text into the options; `false` if malformed.
    let parse: (inout SessionOptions, String) -> Bool
    /// The value as JSON, `nil` when not given.
    let encode: (SessionOptions) -> JSONValue?
    /// Reads the value from JSON; `false` if of the wrong type.
    let decode: (inout SessionOptions, JSONValue) -> Bool
    /// Copies the value from the first options to the second, if given.
    let copy: (SessionOptions, inout SessionOptions) -> Void
  }

  /// A field for the option at `path`.
  static func field<Value>(
    _ name: String, _ path: WritableKeyPath<SessionOptions, Value?>, kind: String, isFlag: Bool = false,
    parse: @escaping (String) -> Value?, encode: @escaping (Value) -> JSONValue,
    decode: @escaping (JSONValue) -> Value?
  ) -> Field {
    Field(
      name: name, kind: kind, isFlag: isFlag,
      parse: { options, text in
        guard let value = parse(text) else { return false }
        options[keyPath: path] = value
        return true
      },
      encode: { options in options[keyPath: path].map(encode) },
      decode: { options, json in
        guard let value = decode(json) else { return false }
        options[keyPath: path] = value
        return true
      },
      copy: { from, to in if let value = from[keyPath: path] { to[keyPath: path] = value } })
  }

  static func text(_ name: String, _ path: WritableKeyPath<SessionOptions, String?>) -> Field {
    field(name, path, kind: "text", parse: { $0 }, encode: { .string($0) }, decode: \.stringValue)
  }

  static func number(_ name: String, _ path: WritableKeyPath<SessionOptions, Double?>) -> Field {
    field(
      name, path, kind: "a number", parse: { Double($0) }, encode: { .number($0) }, decode: \.doubleValue)
  }

  static func whole(_ name: String, _ path: WritableKeyPath<SessionOptions, Int?>) -> Field {
    field(
      name, path, kind: "a whole number", parse: { Int($0) }, encode: { .integer($0) }, decode: \.integerValue)
  }

  /// A comma-separated list of names (`a,b,c`), a JSON array of strings.
  static func names(_ name: String, _ path: WritableKeyPath<SessionOptions, [String]?>) -> Field {
    field(
      name, path, kind: "a comma-separated list of names", parse: { ColumnSelection.names($0) },
      encode: { .array($0.map { .string($0) }) },
      decode: { json in
        guard case .array(let items) = json else { return nil }
        let names = items.compactMap(\.stringValue)
        return names.count == items.count ? names : nil
      })
  }

  /// A choice among names, read with `parse` and written as `name`.
  static func choice<Value>(
    _ name: String, _ path: WritableKeyPath<SessionOptions, Value?>, parse: @escaping (String) -> Value?,
    name valueName: @escaping (Value) -> String, among names: [String]
  ) -> Field {
    field(
      name, path, kind: "one of \(names.joined(separator: ", "))", parse: parse,
      encode: { .string(valueName($0)) }, decode: { $0.stringValue.flatMap(parse) })
  }

  /// A flag that sets `path` to `value` when given (`true`/`false` as text).
  static func flag(_ name: String, _ path: WritableKeyPath<SessionOptions, Bool?>, meaning value: Bool) -> Field {
    field(
      name, path, kind: "true or false", isFlag: true,
      parse: { text in ["true": value, "false": !value][text] },
      encode: { .bool($0 == value) },
      decode: { json in if case .bool(let given) = json { given ? value : !value } else { nil } })
  }

  /// Every option, in the order of `backprop train --help`.
  static var fields: [Field] {
    [
      text("data", \.data), text("labels", \.labels), text("label-column", \.labelColumn),
      names("feature-columns", \.featureColumns), names("drop-columns", \.dropColumns),
      names("class-names", \.classNames),
      text("fashion-mnist-dir", \.fashionMNISTDirectory), text("test-data", \.testData),
      text("test-labels", \.testLabels), number("validation-split", \.validationSplit),
      choice(
        "scale", \.scaling, parse: { FeatureScaling(rawValue: $0) }, name: \.rawValue,
        among: FeatureScaling.allCases.map(\.rawValue)),
      text("model", \.model),
      choice("loss", \.loss, parse: { Loss(name: $0) }, name: \.rawValue, among: Loss.allCases.map(\.rawValue)),
      choice(
        "initializer", \.initializer, parse: { Initializer(name: $0) }, name: \.rawValue,
        among: Initializer.allCases.map(\.rawValue)),
      text("init", \.initialWeights),
      choice(
        "optimizer", \.optimizer, parse: { OptimizerSettings.Kind(rawValue: $0) }, name: \.rawValue,
        among: OptimizerSettings.Kind.allCases.map(\.rawValue)),
      number("lr", \.learningRate), number("momentum", \.momentum), flag("nesterov", \.nesterov, meaning: true),
      number("weight-decay", \.weightDecay), number("beta1", \.beta1), number("beta2", \.beta2),
      number("eps", \.epsilon), text("schedule", \.schedule), whole("warmup-steps", \.warmupSteps),
      number("clip-grad-norm", \.clipGradientNorm), whole("epochs", \.epochs), whole("steps", \.steps),
      whole("batch-size", \.batchSize),
      field(
        "seed", \.seed, kind: "a whole number from 0 to 2^64-1", parse: { UInt64($0) },
        // As text: JSON numbers lose seeds above 2^53.
        encode: { .string(String($0)) }, decode: { $0.stringValue.flatMap { UInt64($0) } }),
      flag("no-shuffle", \.shuffle, meaning: false), number("min-work-per-thread", \.minimumWorkPerThread),
      choice(
        "on-nan", \.onNonFinite, parse: { NonFinitePolicy(rawValue: $0) }, name: \.rawValue,
        among: NonFinitePolicy.allCases.map(\.rawValue)),
      whole("early-stopping", \.earlyStoppingPatience),
      choice(
        "gradients", \.gradients, parse: { GradientChoice(rawValue: $0) }, name: \.rawValue,
        among: GradientChoice.allCases.map(\.rawValue)),
      flag("reproducible", \.reproducible, meaning: true),
      field(
        "augment", \.augmentation, kind: "crop<P>, flip or both (crop4,flip)", parse: { Augmentation(parsing: $0) },
        encode: { .string($0.description) }, decode: { $0.stringValue.flatMap(Augmentation.init(parsing:)) }),
    ]
  }
}
