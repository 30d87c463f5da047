import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// `evaluate`'s per-class report: precision, recall, F1 and the confusion
/// matrix, worked out here by hand from `predict`'s labels and the data's.
@Suite struct EvaluateReportTests {
  static let names = ["setosa", "versi\"color", "virginica"]

  /// 90 rows of 4 features with text labels (one with a quote).
  static func data(in scratch: ScratchFolder) -> (path: String, labels: [Int]) {
    var generator = TestData(seed: 12)
    var text = "a,b,c,d,species\n"
    var labels: [Int] = []
    for _ in 0..<90 {
      let x = generator.uniform(4)
      let label = x[0] + x[1] > 0.3 ? 2 : x[2] > 0 ? 1 : 0
      labels.append(label)
      text += x.map { String($0) }.joined(separator: ",") + ",\"" + names[label].replacingOccurrences(of: "\"", with: "\"\"")
        + "\"\n"
    }
    let path = scratch.file("named.csv")
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
    return (path, labels)
  }

  @Test func theReportMatchesTheConfusionOfThePredictions() throws {
    let scratch = ScratchFolder()
    let (data, labels) = Self.data(in: scratch)
    let weights = scratch.file("w.safetensors")
    let train = try CommandRun([
      "train", "--data", data, "--label-column", "species", "--model", "4-16-relu-3", "--epochs", "15", "--seed", "2",
      "--save", weights, "--quiet",
    ])
    #expect(train.status == 0, "\(train.errors)")
    let predict = try CommandRun(["predict", "--weights", weights, "--data", data, "--output", "-"])
    #expect(predict.status == 0, "\(predict.errors)")
    // The predicted class of each row: the largest probability.
    let predicted = predict.output.split(separator: "\n").dropFirst().map { line -> Int in
      let p = line.split(separator: ",").suffix(3).map { Double($0)! }
      return p.indices.max { p[$0] < p[$1] }!
    }
    #expect(predicted.count == 90)
    var confusion = [[Int]](repeating: [0, 0, 0], count: 3)
    for (p, a) in zip(predicted, labels) { confusion[a][p] += 1 }

    let run = try CommandRun([
      "evaluate", "--weights", weights, "--data", data, "--json", "--output", scratch.file("report"),
    ])
    #expect(run.status == 0, "\(run.errors)")
    let json = try run.json()
    let matrix = try #require(json["confusion_matrix"]?.arrayValue).map { $0.arrayValue!.compactMap(\.integerValue) }
    #expect(matrix == confusion)
    #expect(json["class_names"]?.arrayValue?.compactMap(\.stringValue) == Self.names)
    let classes = try #require(json["classes"]?.arrayValue)
    for c in 0..<3 {
      let column = (0..<3).reduce(0) { $0 + confusion[$1][c] }
      let row = confusion[c].reduce(0, +)
      let precision = column > 0 ? Double(confusion[c][c]) / Double(column) : 0
      let recall = row > 0 ? Double(confusion[c][c]) / Double(row) : 0
      #expect(abs((classes[c]["precision"]?.doubleValue ?? -1) - precision) < 1e-12)
      #expect(abs((classes[c]["recall"]?.doubleValue ?? -1) - recall) < 1e-12)
      #expect(classes[c]["support"]?.integerValue == row)
      #expect(classes[c]["name"]?.stringValue == Self.names[c])
    }
    let accuracy = Double((0..<3).reduce(0) { $0 + confusion[$1][$1] }) / 90
    #expect(abs((json["accuracy"]?.doubleValue ?? -1) - accuracy) < 1e-12)
    // The CSV: a row per class with its row of the matrix; the JSON file as printed.
    let csv = try String(contentsOfFile: scratch.file("report.csv"), encoding: .utf8).split(separator: "\n")
    #expect(csv.first == "class,name,precision,recall,f1,support,predicted_0,predicted_1,predicted_2")
    #expect(csv[2].hasPrefix("1,\"versi\"\"color\","), "\(csv)")
    #expect(csv[2].hasSuffix(confusion[1].map(String.init).joined(separator: ",")), "\(csv)")
    let file = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: scratch.file("report.json")))))
    #expect(file["confusion_matrix"] == json["confusion_matrix"])
    // The text form names the classes.
    let text = try CommandRun(["evaluate", "--weights", weights, "--data", data])
    #expect(text.output.contains("1 versi\"color") && text.output.contains("confusion matrix"), "\(text.output)")
  }

  @Test func aModelWithoutClassesHasNoReport() throws {
    let scratch = ScratchFolder()
    var text = "x,y\n"
    var generator = TestData(seed: 3)
    for _ in 0..<40 {
      let x = generator.uniform(1)[0]
      text += "\(x),\(2 * x + 1)\n"
    }
    let data = scratch.file("line.csv")
    try text.write(toFile: data, atomically: true, encoding: .utf8)
    let weights = scratch.file("w.safetensors")
    let train = try CommandRun([
      "train", "--data", data, "--label-column", "y", "--loss", "mse", "--model", "1-1", "--epochs", "2", "--save",
      weights, "--quiet",
    ])
    #expect(train.status == 0, "\(train.errors)")
    let plain = try CommandRun(["evaluate", "--weights", weights, "--data", data, "--json"])
    #expect(plain.status == 0, "\(plain.errors)")
    #expect(try plain.json()["confusion_matrix"] == nil)
    let asked = try CommandRun(["evaluate", "--weights", weights, "--data", data, "--output", scratch.file("r.csv")])
    #expect(asked.status != 0 && asked.errors.contains("--output"), "\(asked.errors)")
    #expect(!FileManager.default.fileExists(atPath: scratch.file("r.csv")))
  }
}
