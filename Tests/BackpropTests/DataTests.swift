import Backprop
import CDeflate
import Foundation
import Testing
import _BackpropTestSupport

/// Writes `bytes` to `path`, gzip-compressed when `gzip` is set.
func writeFile(_ bytes: [UInt8], to path: String, gzip: Bool = false) {
  if gzip {
    let compressor = libdeflate_alloc_compressor(6)!
    defer { libdeflate_free_compressor(compressor) }
    let bound = libdeflate_gzip_compress_bound(compressor, bytes.count)
    var compressed = [UInt8](repeating: 0, count: bound)
    let size = bytes.withUnsafeBytes { source in
      compressed.withUnsafeMutableBytes { target in
        libdeflate_gzip_compress(compressor, source.baseAddress, source.count, target.baseAddress, bound)
      }
    }
    precondition(size > 0, "libdeflate could not compress \(bytes.count) bytes")
    writeFile(Array(compressed.prefix(size)), to: path)
  } else {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
  }
}

/// An IDX file's bytes: magic, big-endian sizes, then `payload`.
func idxBytes(type: UInt8, shape: [Int], payload: [UInt8]) -> [UInt8] {
  var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
  for size in shape {
    bytes += [UInt8(size >> 24 & 255), UInt8(size >> 16 & 255), UInt8(size >> 8 & 255), UInt8(size & 255)]
  }
  return bytes + payload
}

/// A `.npy` file's bytes with the given header dictionary and data.
func npyBytes(header: String, data: [UInt8]) -> [UInt8] {
  var text = header
  while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
  text += "\n"
  let length = text.utf8.count
  return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 255), UInt8(length >> 8)] + Array(text.utf8) + data
}

@Suite struct IDXTests {
  @Test(arguments: [false, true])
  func readsBytesPlainAndCompressed(gzip: Bool) throws {
    let scratch = ScratchFolder()
    let path = scratch.file(gzip ? "images.gz" : "images")
    writeFile(idxBytes(type: 0x08, shape: [2, 2, 3], payload: Array(0..<12)), to: path, gzip: gzip)
    let contents = try IDXReader.read(path)
    #expect(contents.shape == [2, 2, 3])
    #expect(contents.values == (0..<12).map(Float.init))
  }

  @Test func readsBigEndianIntegersAndFloats() throws {
    let ints = try IDXReader.parse(
      idxBytes(type: 0x0C, shape: [2], payload: [0, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFE]), path: "x")
    #expect(ints.values == [256, -2])
    let floats = try IDXReader.parse(idxBytes(type: 0x0D, shape: [1], payload: [0x3F, 0xC0, 0, 0]), path: "x")
    #expect(floats.values == [1.5])
  }

  @Test(arguments: [
    ([UInt8]([1, 0, 8, 1, 0, 0, 0, 1, 5]), "magic"),
    (idxBytes(type: 0x08, shape: [10], payload: [1, 2, 3]), "truncated"),
    (idxBytes(type: 0x07, shape: [1], payload: [1]), "type code"),
    (idxBytes(type: 0x08, shape: [2], payload: [1, 2, 3]), "unexpected bytes"),
    ([UInt8]([0, 0, 8, 3, 0, 0]), "header"),
    (idxBytes(type: 0x08, shape: [0x7FFF_FFFF, 0x7FFF_FFFF, 0x7FFF_FFFF], payload: [1]), "impossible shape"),
  ])
  func refusesDamagedFiles(bytes: [UInt8], expected: String) {
    #expect {
      try IDXReader.parse(bytes, path: "data.idx")
    } throws: { error in
      let text = String(describing: error)
      return text.hasPrefix("data.idx: ") && text.contains(expected)
    }
  }

  @Test func refusesATruncatedGzipStream() throws {
    let scratch = ScratchFolder()
    let whole = scratch.file("whole.gz")
    writeFile(
      idxBytes(type: 0x08, shape: [4000], payload: (0..<4000).map { UInt8(truncatingIfNeeded: $0 * 7919) }), to: whole,
      gzip: true)
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: whole)))
    let cut = scratch.file("cut.gz")
    writeFile(Array(bytes.prefix(bytes.count / 2)), to: cut)
    #expect(throws: DatasetError.self) { try IDXReader.read(cut) }
  }

  @Test func readsConcatenatedGzipMembers() throws {
    let scratch = ScratchFolder()
    let first = idxBytes(type: 0x08, shape: [3000], payload: (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 31) })
    let parts = [scratch.file("a.gz"), scratch.file("b.gz")]
    writeFile(Array(first.prefix(1000)), to: parts[0], gzip: true)
    writeFile(Array(first.dropFirst(1000)), to: parts[1], gzip: true)
    let joined = try parts.flatMap { try [UInt8](Data(contentsOf: URL(fileURLWithPath: $0))) }
    let path = scratch.file("joined.gz")
    writeFile(joined, to: path)
    let contents = try IDXReader.read(path)
    #expect(contents.shape == [3000])
    #expect(contents.values == first.dropFirst(8).map(Float.init))
  }

  @Test func missingFilesNameThePath() {
    #expect(throws: DatasetError.unreadable(path: "/no/such/file", reason: "No such file or directory")) {
      try IDXReader.read("/no/such/file")
    }
  }
}

@Suite struct NPYTests {
  @Test func float32RoundTrip() throws {
    let values: [Float] = [1, -2.5, 3e-8, 4e20, 0, 7]
    let contents = try NPYFile.parse(NPYFile.encode(values: values, shape: [2, 3]), path: "a.npy")
    #expect(contents.shape == [2, 3])
    #expect(contents.values == values)
    #expect(!contents.isInteger)
  }

  @Test(arguments: [
    ("<i8", [UInt8]([5, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), [Float(5), -1]),
    (">i4", [0, 0, 0, 9, 0xFF, 0xFF, 0xFF, 0xF0], [9, -16]),
    ("|u1", [200, 3], [200, 3]),
    ("<u2", [0x34, 0x12, 1, 0], [0x1234, 1]),
    ("<f8", [0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0xC0], [1.5, -2]),
  ])
  func readsIntegerAndDoubleTypes(descr: String, data: [UInt8], expected: [Float]) throws {
    let bytes = npyBytes(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (2,), }", data: data)
    #expect(try NPYFile.parse(bytes, path: "x.npy").values == expected)
  }

  @Test(arguments: [
    ("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }", [UInt8](repeating: 0, count: 4), "Fortran"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", [UInt8](repeating: 0, count: 8), "object"),
    ("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", [UInt8](repeating: 0, count: 12), "dtype"),
    ("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", [UInt8](repeating: 0, count: 8), "dtype"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 3), }", [UInt8](repeating: 0, count: 12), "truncated"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", [UInt8](repeating: 0, count: 12), "follow the data"),
    (
      "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", [UInt8](repeating: 0, count: 4),
      "structured"
    ),
  ])
  func refusesUnsupportedOrLyingFiles(header: String, data: [UInt8], expected: String) {
    #expect {
      try NPYFile.parse(npyBytes(header: header, data: data), path: "bad.npy")
    } throws: { error in
      String(describing: error).hasPrefix("bad.npy: ") && String(describing: error).contains(expected)
    }
  }

  @Test func refusesAHeaderLengthPastTheEnd() {
    var bytes = npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0])
    bytes[8] = 0xFF
    bytes[9] = 0xFF
    #expect(throws: DatasetError.self) { try NPYFile.parse(bytes, path: "x.npy") }
  }
}

@Suite struct CSVTests {
  @Test func readsLabelColumnByNameWithQuotesAndCRLF() throws {
    let scratch = ScratchFolder()
    let path = scratch.file("data.csv")
    writeFile(Array("a,\"target\",b\r\n1.5,2,3\r\n\"4\",0,-6e1\r\n".utf8), to: path)
    let data = try CSVReader.read(path, labelColumn: "target")
    #expect(data.featureWidth == 2)
    #expect(data.features == [1.5, 3, 4, -60])
    #expect(data.targets == [2, 0])
  }

  /// Quoted fields may hold commas, and a doubled quote is one quote (RFC 4180).
  @Test func quotedFieldsKeepCommasAndQuotes() throws {
    let scratch = ScratchFolder()
    let path = scratch.file("quoted.csv")
    writeFile(Array("\"x, in cm\",label\n1,\"big, \"\"red\"\"\"\n2,small\n".utf8), to: path)
    let data = try CSVReader.read(path, labelColumn: "label")
    #expect(data.featureNames == ["x, in cm"])
    #expect(data.classNames == ["big, \"red\"", "small"])
    #expect(data.targets == [0, 1])
  }

  /// A spreadsheet's UTF-8 byte-order mark is not part of the first column's name.
  @Test func aByteOrderMarkIsNotPartOfTheFirstName() throws {
    let scratch = ScratchFolder()
    let path = scratch.file("bom.csv")
    writeFile([0xEF, 0xBB, 0xBF] + Array("id,a,label\n1,2,0\n".utf8), to: path)
    let data = try CSVReader.parse(
      try FileBytes.read(path), path: path, columns: ColumnSelection(dropColumns: ["id"]))
    #expect(data.featureNames == ["a"])
    #expect(data.features == [2])
  }

  @Test(arguments: [
    ("a,b\n1,2\n", "no column named 'label'"),
    ("a,label\n1,2\n3\n", "line 3 has 1 fields"),
    ("a,label\n1,2\n3,x\n", "line 3, column 'label': 'x' is not a number, while line 2's label is"),
    ("a,label\ny,1\n", "line 2, column 'a': 'y' is not a number (leave the column out with --drop-columns"),
    ("a,a,label\n1,2,3\n", "columns 1 and 2 are both named 'a'"),
    ("a,label\n1, \n", "line 2, column 'label': the label is empty"),
    ("a,label\n,1\n", "line 2, column 'a': the field is empty (fill in or remove the rows with missing values)"),
    ("a;b;label\n1;2;0\n", "the file seems separated by ';', but CSV files are read with commas"),
    ("a,label\n", "no data rows"),
    ("", "empty CSV"),
  ])
  func refusesBadFiles(text: String, expected: String) {
    let scratch = ScratchFolder()
    let path = scratch.file("bad.csv")
    writeFile(Array(text.utf8), to: path)
    #expect {
      try CSVReader.read(path, labelColumn: "label")
    } throws: { error in
      String(describing: error).hasPrefix(path) && String(describing: error).contains(expected)
    }
  }
}

@Suite struct DatasetTests {
  @Test func validationSplitIsSeededDisjointAndComplete() throws {
    let data = Dataset(
      features: (0..<100).map(Float.init), featureWidth: 1, targets: (0..<100).map { Float($0 % 3) }, targetWidth: 1,
      source: "d")
    let (training, validation) = try data.splitValidation(fraction: 0.2, seed: 5)
    #expect(validation.count == 20)
    #expect(Set(training.features + validation.features) == Set((0..<100).map(Float.init)))
    #expect(try data.splitValidation(fraction: 0.2, seed: 5).validation.features == validation.features)
    #expect(try data.splitValidation(fraction: 0.2, seed: 6).validation.features != validation.features)
  }

  @Test func scalingUsesTrainingStatisticsOnly() {
    var training = Dataset(
      features: [0, 10, 2, 30, 4, 50], featureWidth: 2, targets: [0, 1, 0], targetWidth: 1, source: "t")
    var test = Dataset(features: [8, 70], featureWidth: 2, targets: [0], targetWidth: 1, source: "u")
    let unit = FeatureScaler(fitting: .unit, to: training)
    unit.apply(to: &test)
    #expect(test.features == [2, 1.5])
    let standard = FeatureScaler(fitting: .standard, to: training)
    standard.apply(to: &training)
    let column0 = [training.features[0], training.features[2], training.features[4]]
    #expect(abs(column0.reduce(0, +)) < 1e-6)
    #expect(abs(column0.map { $0 * $0 }.reduce(0, +) / 3 - 1) < 1e-5)
  }

  @Test(arguments: [
    (Dataset(features: [1, 2], featureWidth: 2, targets: [0], targetWidth: 1, source: "s"), "takes 3 inputs"),
    (Dataset(features: [1, .nan, 3], featureWidth: 3, targets: [0], targetWidth: 1, source: "s"), "NaN"),
    (Dataset(features: [1, .infinity, 3], featureWidth: 3, targets: [0], targetWidth: 1, source: "s"), "inf"),
    (Dataset(features: [1, 2, 3], featureWidth: 3, targets: [4], targetWidth: 1, source: "s"), "out of range"),
    (Dataset(features: [1, 2, 3], featureWidth: 3, targets: [1.5], targetWidth: 1, source: "s"), "not a whole number"),
    (Dataset(features: [1, 2, 3], featureWidth: 3, targets: [-1], targetWidth: 1, source: "s"), "out of range"),
    (Dataset(features: [], featureWidth: 3, targets: [], targetWidth: 1, source: "s"), "empty"),
  ])
  func validateNamesWhatIsWrong(data: Dataset, expected: String) {
    #expect {
      try data.validate(input: Shape(flat: 3), outputs: 4, loss: .softmaxCrossEntropy)
    } throws: { error in
      String(describing: error).hasPrefix("s: ") && String(describing: error).contains(expected)
    }
  }

  @Test(.enabled(if: CommandLineTests.fashionMNISTInstalled, "Fashion-MNIST is not installed (dataset-fashion-mnist)"))
  func fashionMNISTLoadsWhenInstalled() throws {
    let loaded = try DatasetLoader.load(data: "fashion-mnist", labels: nil)
    #expect(loaded.training.count == 60_000)
    #expect(loaded.training.featureWidth == 784)
    #expect(loaded.test?.count == 10_000)
    #expect(loaded.training.features.max() == 1)
    #expect(loaded.training.targets.max() == 9)
  }
}

extension Dataset: CustomTestStringConvertible {
  public var testDescription: String { "\(count)×\(featureWidth) from \(source)" }
}
