import Backprop
import Synchronization
import Testing
import _BackpropTestSupport

/// Workers flush denormals to zero while they train, and give each thread
/// its former floating-point mode back.
@Suite(.serialized) struct DenormalTests {
  /// Records, on every forward pass, whether a denormal product came out as 0.
  final class Probe: Sendable {
    let flushed = Atomic<Int>(0)
    let kept = Atomic<Int>(0)
  }

  /// The identity, probing the thread's mode on each forward pass.
  struct ProbeLayer: Layer {
    let probe: Probe
    static let jsonKey = "probe"
    static func parse(token: String, input: Shape) throws(ModelSpecError) -> ProbeLayer? { nil }
    static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> ProbeLayer {
      throw .invalid("a probe layer is made in code")
    }
    var description: String { "probe" }
    var jsonValue: JSONValue { .null }
    func outputShape(input: Shape) throws(ModelSpecError) -> Shape { input }
    func flops(input: Shape) -> LayerFLOPs { LayerFLOPs(forward: 0, inputGradient: 0) }
    var worksInPlace: Bool { false }
    func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
      if case .training = mode {
        if DenormalTests.denormalProduct(rows.count) == 0 {
          probe.flushed.add(1, ordering: .relaxed)
        } else {
          probe.kept.add(1, ordering: .relaxed)
        }
      }
      buffers.output.update(from: buffers.input, count: rows.count * buffers.inputShape.count)
    }
    func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
      buffers.inputGradient.update(from: buffers.outputGradient, count: rows.count * buffers.inputShape.count)
    }
  }

  /// A denormal times 1.5, from a run-time value (so not folded at compile time).
  @inline(never)
  static func denormalProduct(_ seed: Int) -> Float {
    Float(bitPattern: UInt32(truncatingIfNeeded: seed % 1000 + 1)) * 1.5
  }

  @Test(arguments: [1, 2])
  func workersFlushDenormalsAndRestoreTheCallersMode(threads: Int) throws {
    #expect(Self.denormalProduct(3) != 0, "the calling thread keeps denormals before training")
    let probe = Probe()
    let spec = try ModelSpec(
      inputShape: Shape(flat: 4), layers: [ProbeLayer(probe: probe), Dense(inputs: 4, outputs: 3)])
    var options = TrainingOptions()
    (options.threads, options.batchSize, options.epochs, options.minimumWorkPerThread) = (threads, 8, 2, 0)
    var generator = TestData(seed: 3)
    let data = generator.classification(rows: 32, features: 4, classes: 3)
    let trainer = Trainer(model: Model(spec: spec, seed: 1), training: data, options: options)
    try trainer.train()
    #expect(probe.flushed.load(ordering: .relaxed) > 0)
    #expect(probe.kept.load(ordering: .relaxed) == 0)
    #expect(Self.denormalProduct(3) != 0, "the calling thread keeps denormals after training")
  }
}
