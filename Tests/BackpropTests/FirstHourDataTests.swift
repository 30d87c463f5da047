import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// A user's own data (part 8, items 2–5): CSV columns by name, scaling that
/// travels with the weights, labels as people have them, and 8-bit files
/// read as the named sets are.
@Suite struct FirstHourDataTests {
  /// One sample of the three-class problem: its named features and class.
  struct Row {
    var values: [String: Double]
    var label: Int
  }

  static let classNames = ["setosa", "versicolor", "virginica"]

  /// Samples of a three-class problem whose columns have different scales.
  static func rows(_ count: Int = 300, seed: UInt64 = 8) -> [Row] {
    var data = TestData(seed: seed)
    return (0..<count).map { _ in
      let x = data.uniform(4)
      let label = x[0] + x[1] > 0.3 ? 2 : x[2] > 0 ? 1 : 0
      return Row(
        values: ["width": x[0], "height": 10 * x[1] + 0.3 * Double(label), "weight": 100 * x[2], "age": 0.01 * x[3]],
        label: label)
    }
  }

  /// Writes `rows` as CSV with `columns` in that order: feature names,
  /// `id` (the row's number), `label` or `kind` (the class index) or
  /// `species` (its name).
  static func csv(_ rows: [Row], columns: [String], to path: String) {
    var text = columns.joined(separator: ",") + "\n"
    for (number, row) in rows.enumerated() {
      text +=
        columns.map { column in
          switch column {
          case "id": String(number + 1000)
          case "label", "kind": String(row.label)
          case "species": classNames[row.label]
          default: String(row.values[column]!)
          }
        }.joined(separator: ",") + "\n"
    }
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
  }

  /// Writes a float32 `.npy` file.
  static func npy(_ values: [Float], shape: [Int], to path: String) {
    try! Data(NPYFile.encode(values: values, shape: shape)).write(to: URL(fileURLWithPath: path))
  }

  /// Item 2: the feature names are saved; evaluate and predict match columns
  /// by name (another order, an extra column), and refuse a missing one by
  /// name; --drop-columns and --feature-columns choose the features; the
  /// label column is remembered.
  @Test func columnsAreMatchedByName() throws {
    let scratch = ScratchFolder()
    let rows = Self.rows()
    let train = scratch.file("train.csv")
    Self.csv(rows, columns: ["id", "width", "height", "weight", "age", "kind"], to: train)
    let reordered = scratch.file("reordered.csv")
    Self.csv(rows, columns: ["age", "kind", "weight", "id", "height", "width"], to: reordered)
    let weights = scratch.file("w.safetensors")
    let trained = try CommandRun([
      "train", "--data", train, "--label-column", "kind", "--drop-columns", "id", "--model", "4-16-relu-3",
      "--scale", "standard", "--epochs", "5", "--lr", "0.1", "--save", weights,
    ])
    #expect(trained.status == 0, "\(trained.errors)")
    let schema = try #require(try Model.load(from: weights).dataSchema)
    #expect(schema.featureNames == ["width", "height", "weight", "age"])
    #expect(schema.labelColumn == "kind")

    // Same samples, other column order, an extra column: the same scores
    // and predictions, with no --label-column given.
    let original = try CommandRun(["evaluate", "--weights", weights, "--data", train])
    let moved = try CommandRun(["evaluate", "--weights", weights, "--data", reordered])
    #expect(original.status == 0 && moved.status == 0, "\(original.errors)\(moved.errors)")
    #expect(original.output == moved.output)
    // Dropping a column the model does not use changes nothing: features are still found by name.
    let dropped = try CommandRun(["evaluate", "--weights", weights, "--data", reordered, "--drop-columns", "id"])
    #expect(dropped.output == original.output, "\(dropped.errors)")
    let first = try CommandRun(["predict", "--weights", weights, "--data", train, "--output", "-"])
    let second = try CommandRun(["predict", "--weights", weights, "--data", reordered, "--output", "-"])
    #expect(first.status == 0 && first.output.hasPrefix("prediction,p_0,p_1,p_2\n"), "\(first.errors)")
    #expect(first.output == second.output)

    // A missing column is named.
    let missing = scratch.file("missing.csv")
    Self.csv(rows, columns: ["width", "height", "age", "label"], to: missing)
    let refused = try CommandRun(["predict", "--weights", weights, "--data", missing, "--output", "-"])
    #expect(refused.status == 1)
    #expect(
      refused.errors
        == "backprop: error: \(missing): no column named 'weight' (one of the features \(weights) was trained on); its columns: 'width', 'height', 'age', 'label'\n"
    )

    // --feature-columns picks and orders the features.
    let two = try CommandRun([
      "train", "--data", reordered, "--label-column", "kind", "--feature-columns", "weight,width", "--model",
      "2-8-relu-3", "--scale", "standard", "--epochs", "1", "--save", scratch.file("two.safetensors"),
    ])
    #expect(two.status == 0, "\(two.errors)")
    #expect(try Model.load(from: scratch.file("two.safetensors")).dataSchema?.featureNames == ["weight", "width"])
    let both = try CommandRun([
      "train", "--data", train, "--feature-columns", "width", "--drop-columns", "id", "--model", "1-3",
    ])
    #expect(both.status != 0)
    #expect(both.errors.contains("--drop-columns cannot be given with --feature-columns"), "\(both.errors)")
  }

  /// Item 3: --init reuses the scaling saved with the weights unless
  /// --scale is given, and says which it did.
  @Test func initReusesTheSavedScaling() throws {
    let scratch = ScratchFolder()
    let data = scratch.file("three.csv")
    Self.csv(Self.rows(), columns: ["width", "height", "weight", "age", "label"], to: data)
    let first = scratch.file("first.safetensors")
    let trained = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--scale", "standard", "--epochs", "5", "--lr", "0.1",
      "--save", first,
    ])
    #expect(trained.status == 0, "\(trained.errors)")
    let saved = try #require(try Model.load(from: first).featureScaler)

    let again = scratch.file("again.safetensors")
    let resumed = try CommandRun([
      "train", "--data", data, "--init", first, "--steps", "1", "--lr", "1e-9", "--save", again,
    ])
    #expect(resumed.status == 0, "\(resumed.errors)")
    #expect(
      resumed.errors.contains("backprop: note: --init: features scaled as saved in \(first) (give --scale to refit)"))
    #expect(!resumed.errors.contains("are not scaled"), "\(resumed.errors)")
    #expect(try Model.load(from: again).featureScaler == saved)
    // What the first weights score, the second (a step of 1e-9 later) scores too.
    let scoreFirst = try CommandRun(["evaluate", "--weights", first, "--data", data])
    let scoreAgain = try CommandRun(["evaluate", "--weights", again, "--data", data])
    #expect(scoreFirst.output == scoreAgain.output)

    let refitted = scratch.file("refitted.safetensors")
    let refit = try CommandRun([
      "train", "--data", data, "--init", first, "--scale", "unit", "--steps", "1", "--save", refitted,
    ])
    #expect(refit.status == 0, "\(refit.errors)")
    #expect(
      refit.errors.contains(
        "backprop: note: --scale unit: the feature scaling saved in --init \(first) is replaced by one fitted on this training data"
      ))
    #expect(try Model.load(from: refitted).featureScaler != saved)

    // Without any scaling, features far outside [-1, 1] are warned about.
    let raw = try CommandRun(["train", "--data", data, "--model", "4-3", "--epochs", "1"])
    #expect(raw.errors.contains("--scale: the features of \(data) are not scaled and reach"), "\(raw.errors)")
    #expect(raw.errors.contains("(column 'weight')"), "\(raw.errors)")
  }

  /// Item 4: text labels become sorted classes (or ordered by
  /// --class-names) whose names are saved and predicted; one-hot targets
  /// are read as class indices; a fractional label hints at --loss mse.
  @Test func labelsTheWayPeopleHaveThem() throws {
    let scratch = ScratchFolder()
    let rows = Self.rows()
    let named = scratch.file("named.csv")
    Self.csv(rows, columns: ["width", "height", "weight", "age", "species"], to: named)
    let indexed = scratch.file("indexed.csv")
    Self.csv(rows, columns: ["width", "height", "weight", "age", "label"], to: indexed)
    let common = ["--model", "4-16-relu-3", "--scale", "standard", "--epochs", "3", "--lr", "0.1", "--json"]

    // Sorted names are the indices 0, 1, 2: the same run as with numbers.
    let byName = try CommandRun(["train", "--data", named, "--label-column", "species"] + common)
    let byIndex = try CommandRun(["train", "--data", indexed] + common)
    #expect(byName.status == 0, "\(byName.errors)")
    #expect(try byName.json()["train_loss"] == byIndex.json()["train_loss"])

    // --class-names orders them; the names are saved and predicted.
    let weights = scratch.file("w.safetensors")
    let ordered = try CommandRun(
      [
        "train", "--data", named, "--label-column", "species", "--class-names", "virginica,setosa,versicolor",
        "--save", weights,
      ] + common)
    #expect(ordered.status == 0, "\(ordered.errors)")
    #expect(try Model.load(from: weights).dataSchema?.classNames == ["virginica", "setosa", "versicolor"])
    let predicted = try CommandRun(["predict", "--weights", weights, "--data", named, "--output", "-"])
    #expect(predicted.status == 0, "\(predicted.errors)")
    let lines = predicted.output.split(separator: "\n")
    #expect(lines.first == "prediction,p_virginica,p_setosa,p_versicolor")
    let guesses = lines.dropFirst().map { String($0.split(separator: ",")[0]) }
    #expect(Set(guesses).isSubset(of: Set(Self.classNames)) && guesses.count == rows.count)
    let evaluated = try CommandRun(["evaluate", "--weights", weights, "--data", named, "--json"])
    #expect(evaluated.status == 0, "\(evaluated.errors)")
    let unknown = try CommandRun(
      ["train", "--data", named, "--label-column", "species", "--class-names", "setosa,versicolor"] + common)
    #expect(unknown.status == 1)
    #expect(
      unknown.errors.contains("column 'species': 'virginica' is not one of the class names (setosa, versicolor)"),
      "\(unknown.errors)")

    // One-hot targets train as the class indices they encode.
    let features = rows.flatMap { row in ["width", "height", "weight", "age"].map { Float(row.values[$0]!) } }
    let x = scratch.file("x.npy")
    Self.npy(features, shape: [rows.count, 4], to: x)
    let oneHot = scratch.file("onehot.npy")
    Self.npy(
      rows.flatMap { row in (0..<3).map { $0 == row.label ? Float(1) : 0 } }, shape: [rows.count, 3], to: oneHot)
    let indices = scratch.file("y.npy")
    Self.npy(rows.map { Float($0.label) }, shape: [rows.count], to: indices)
    let fromOneHot = try CommandRun(["train", "--data", x, "--labels", oneHot] + common)
    let fromIndices = try CommandRun(["train", "--data", x, "--labels", indices] + common)
    #expect(fromOneHot.status == 0, "\(fromOneHot.errors)")
    #expect(try fromOneHot.json()["train_loss"] == fromIndices.json()["train_loss"])
    let notOneHot = scratch.file("soft.npy")
    Self.npy([Float](repeating: 0.5, count: rows.count * 3), shape: [rows.count, 3], to: notOneHot)
    let soft = try CommandRun(["train", "--data", x, "--labels", notOneHot] + common)
    #expect(soft.status == 1)
    #expect(
      soft.errors.contains("not one-hot (a single 1): give class indices 0...2, one per sample"), "\(soft.errors)")

    // Weights that name no classes are not guessed at with text labels.
    let unnamed = scratch.file("unnamed.safetensors")
    let fromArrays = try CommandRun(["train", "--data", x, "--labels", indices, "--save", unnamed] + common)
    #expect(fromArrays.status == 0, "\(fromArrays.errors)")
    let guessed = try CommandRun(["evaluate", "--weights", unnamed, "--data", named, "--label-column", "species"])
    #expect(guessed.status == 1)
    #expect(
      guessed.errors.contains(
        "the labels are text (setosa, versicolor, virginica) but \(unnamed) names no classes: give --class-names"),
      "\(guessed.errors)")
    let told = try CommandRun([
      "evaluate", "--weights", unnamed, "--data", named, "--label-column", "species", "--class-names",
      "setosa,versicolor,virginica",
    ])
    #expect(told.status == 0, "\(told.errors)")
    let mse = try CommandRun(
      ["train", "--data", named, "--label-column", "species", "--model", "4-1", "--loss", "mse", "--epochs", "1"])
    #expect(mse.status == 1)
    #expect(mse.errors.contains("but loss mse with one output is regression"), "\(mse.errors)")

    // A regression target with a classification loss hints at --loss mse.
    let target = scratch.file("target.npy")
    Self.npy(rows.map { Float($0.values["width"]! * 2 + 0.25) }, shape: [rows.count], to: target)
    let wrongLoss = try CommandRun(["train", "--data", x, "--labels", target, "--model", "4-8-relu-1", "--epochs", "1"])
    #expect(wrongLoss.status == 1)
    #expect(wrongLoss.errors.contains("(for regression targets, give --loss mse)"), "\(wrongLoss.errors)")
    let regression = try CommandRun([
      "train", "--data", x, "--labels", target, "--model", "4-8-relu-1", "--loss", "mse", "--scale", "standard",
      "--epochs", "1",
    ])
    #expect(regression.status == 0, "\(regression.errors)")
  }

  /// Item 5: 8-bit IDX and `.npy` image files are divided by 255 as the
  /// named sets are, say so, and get the same recipe (batches of 128).
  @Test func eightBitFilesAreReadAsTheNamedSetsAre() throws {
    let scratch = ScratchFolder()
    var random = TestData(seed: 3)
    let count = 256
    let labels = (0..<count).map { UInt8($0 % 10) }
    let pixels = (0..<(count * 64)).map { i in UInt8(Int(labels[i / 64]) * 20 + Int(random.uniform(1)[0] * 30 + 30)) }
    func idx(_ type: UInt8, _ shape: [Int], _ values: [UInt8]) -> Data {
      var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
      for size in shape { bytes += withUnsafeBytes(of: UInt32(size).bigEndian) { Array($0) } }
      return Data(bytes + values)
    }
    let images = scratch.file("images-idx3-ubyte")
    let imageLabels = scratch.file("labels-idx1-ubyte")
    try idx(0x08, [count, 8, 8], pixels).write(to: URL(fileURLWithPath: images))
    try idx(0x08, [count], labels).write(to: URL(fileURLWithPath: imageLabels))
    let run = try CommandRun([
      "train", "--data", images, "--labels", imageLabels, "--model", "64-32-relu-10", "--epochs", "2", "--json",
    ])
    #expect(run.status == 0, "\(run.errors)")
    #expect(
      run.errors.contains(
        "backprop: note: --data: the 8-bit features of \(images) are divided by 255 to [0, 1] as they are read, as the named sets' are"
      ), "\(run.errors)")
    #expect(!run.errors.contains("are not scaled"), "\(run.errors)")
    #expect(try run.json()["batch_size"]?.integerValue == 128)

    // The same bytes as a uint8 .npy file: the same run.
    let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (\(count), 64), }"
    let padded = header + String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
    let text: [UInt8] =
      [0x93] + Array("NUMPY".utf8) + [1, 0] + withUnsafeBytes(of: UInt16(padded.utf8.count).littleEndian) { Array($0) }
      + Array(padded.utf8)
    let npyImages = scratch.file("images.npy")
    try Data(text + pixels).write(to: URL(fileURLWithPath: npyImages))
    let fromNPY = try CommandRun([
      "train", "--data", npyImages, "--labels", imageLabels, "--model", "64-32-relu-10", "--epochs", "2", "--json",
    ])
    #expect(fromNPY.status == 0, "\(fromNPY.errors)")
    #expect(try fromNPY.json()["train_loss"] == run.json()["train_loss"])
  }

  /// The README's quick start on a user's own CSV runs as it stands: it
  /// trains, evaluates on a file with its columns in another order, and
  /// predicts names for a file without labels.
  @Test func theReadmeQuickStartOnACSVRuns() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    let blocks = readme.components(separatedBy: "```sh\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
    let example = try #require(blocks.first { $0.contains("--data my.csv") })
    let scratch = ScratchFolder()
    let folder = scratch.file("quick-start")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let rows = Self.rows(400)
    Self.csv(
      Array(rows[..<300]), columns: ["id", "width", "height", "weight", "age", "species"], to: "\(folder)/my.csv")
    Self.csv(
      Array(rows[300...]), columns: ["species", "age", "weight", "height", "width"], to: "\(folder)/my-test.csv")
    Self.csv(Array(rows[300...]), columns: ["id", "weight", "age", "width", "height"], to: "\(folder)/new.csv")
    let run = try CommandRun(
      ["-e", "-c", example], environment: ["B": CommandRun.binary], executable: "/bin/sh", in: folder)
    #expect(run.status == 0, "\(run.errors)")
    // evaluate's line: the held-out rows, well above chance.
    let line = try #require(run.output.split(separator: "\n").first { $0.hasPrefix("100 samples") })
    let accuracy = try #require(line.components(separatedBy: "accuracy ").last.flatMap { Double($0) })
    #expect(accuracy > 0.8, "\(line)")
    let predictions = try String(contentsOfFile: "\(folder)/predictions.csv", encoding: .utf8).split(separator: "\n")
    #expect(predictions.first == "prediction,p_setosa,p_versicolor,p_virginica")
    #expect(predictions.count == 101)
    #expect(predictions.dropFirst().allSatisfy { Self.classNames.contains(String($0.split(separator: ",")[0])) })
  }
}
