/// What a model and its scoring workspaces take, estimated from the spec
/// before anything is allocated, with overflow-checked arithmetic.
extension Model {
  /// The bytes a model for `spec` takes with `threads` workers scoring it
  /// (``evaluate(_:threads:batchSize:)``, ``outputs(for:threads:batchSize:)``).
  public static func estimatedBytes(spec: ModelSpec, threads: Int) -> Int? {
    checkedSum([
      checkedProduct([ParameterLayout(spec: spec).totalCount, 4]),
      checkedProduct([threads, scoringRows(spec: spec), rowFloats(spec: spec, targetWidth: 1), 4]),
      checkedProduct([threads, temporaryFloats(spec: spec), 4]),
    ])
  }

  /// Floats of one worker's working space: the most any layer's pass needs.
  package static func temporaryFloats(spec: ModelSpec) -> Int {
    zip(spec.layers, spec.shapes).map { $0.temporaryCount(input: $1) }.max() ?? 0
  }

  /// Floats a workspace keeps per row: the input and targets, and for each
  /// layer its output, scratch space and gradient (an upper bound: layers in
  /// place share buffers).
  package static func rowFloats(spec: ModelSpec, targetWidth: Int) -> Int? {
    var terms: [Int?] = [spec.inputWidth, targetWidth]
    for (index, layer) in spec.layers.enumerated() {
      terms.append(checkedProduct([spec.shapes[index + 1].count, 2]))
      terms.append(layer.scratchCount(input: spec.shapes[index]))
    }
    return checkedSum(terms)
  }
}
