/// The numbers of a layer token such as `conv32k5s2p1` or `maxpool3s2`: the
/// kind's name, a number right after it, then letters each followed by a
/// number.
struct LayerToken {
  /// The number right after the kind's name (`32` in `conv32k5`).
  let lead: Int
  /// The number after each letter (`k: 5`).
  let fields: [Character: Int]

  /// Reads `token` as a `kind` token whose letters are among `letters`;
  /// `nil` when the token is not of this kind (another kind's name, or the
  /// name without a number, as `gap` is not `g…`).
  ///
  /// - Throws: ``ModelSpecError`` naming the token and `example` when it is
  ///   of this kind but a letter is unknown, repeated or without its number.
  static func parse(_ token: String, kind: String, letters: Set<Character>, example: String) throws(ModelSpecError)
    -> LayerToken?
  {
    let text = Array(token.lowercased())
    let name = Array(kind)
    guard text.count > name.count, Array(text[..<name.count]) == name, text[name.count].isASCII,
      text[name.count].isNumber
    else { return nil }
    var position = name.count
    func number() throws(ModelSpecError) -> Int {
      let start = position
      while position < text.count, text[position].isASCII, text[position].isNumber { position += 1 }
      guard position > start else {
        throw .invalid("'\(token)': a number must follow each letter, as in \(example)")
      }
      guard let value = Int(String(text[start..<position])), value <= ModelSpec.maximumParameters else {
        throw .invalid("'\(token)': \(String(text[start..<position])) is too large")
      }
      return value
    }
    let lead = try number()
    var fields: [Character: Int] = [:]
    while position < text.count {
      let letter = text[position]
      guard letters.contains(letter) else {
        throw .invalid(
          "'\(token)': unknown part '\(letter)' (a \(kind) layer takes \(letters.sorted().map(String.init).joined(separator: ", ")), as in \(example))"
        )
      }
      guard fields[letter] == nil else { throw .invalid("'\(token)': '\(letter)' is given twice") }
      position += 1
      fields[letter] = try number()
    }
    return LayerToken(lead: lead, fields: fields)
  }
}

/// The sliding window of a convolution or a pooling layer over one
/// dimension of an image: its size, its step and the zeros added at each
/// side, as PyTorch's `kernel_size`, `stride` and `padding`.
struct Window: Hashable {
  let kernel: Int
  let stride: Int
  let padding: Int

  /// The number of positions the window takes over `size` values (PyTorch's
  /// `floor((size + 2·padding − kernel) / stride) + 1`), or `nil` when the
  /// window is larger than the padded input.
  func positions(over size: Int) -> Int? {
    let padded = size + 2 * padding
    return padded >= kernel ? (padded - kernel) / stride + 1 : nil
  }

  /// Checks the window's numbers and gives the output's height and width
  /// for an input of `input`.
  ///
  /// - Throws: ``ModelSpecError`` saying which number is wrong or that the
  ///   window does not fit.
  func outputSize(input: Shape, layer: String) throws(ModelSpecError) -> (height: Int, width: Int) {
    guard kernel > 0 else { throw .invalid("a \(layer)'s kernel must be at least 1") }
    guard stride > 0 else { throw .invalid("a \(layer)'s stride must be at least 1") }
    guard padding >= 0, padding <= kernel / 2 else {
      throw .invalid(
        "a \(layer)'s padding must be at most half its kernel (\(kernel / 2) for \(kernel)), as PyTorch requires")
    }
    guard !input.isFlat else {
      throw .invalid(
        "a \(layer) takes an image (channels × height × width), not a flat input; start the spec with the image's shape, as in 1x28x28"
      )
    }
    guard let height = positions(over: input.height), let width = positions(over: input.width) else {
      let padded = "\(input.height + 2 * padding)×\(input.width + 2 * padding)"
      throw .invalid(
        "a \(kernel)×\(kernel) kernel is larger than its \(padding > 0 ? "padded " : "")input of \(padded)")
    }
    return (height, width)
  }
}
