#if canImport(CDNNL)
  import CDNNL
  import Synchronization

  /// oneDNN's primitives for one convolution over one input shape, run one
  /// sample at a time (its kernels are as fast on one sample as on a batch,
  /// measured), so a worker needs no more room than for one sample and any
  /// shard size runs the same primitives.
  ///
  /// oneDNN's kernels want their own layouts (channels in blocks of 16, say):
  /// each pass copies the sample into them in the worker's working space and
  /// back out to NCHW, so everything outside the layer stays PyTorch's layout.
  /// Primitives are made once per process for each (layer, shape) and shared
  /// by all workers; what a worker binds to memory (oneDNN's memory objects,
  /// its stream) lives in a ``Lane`` kept per working space.
  final class OneDNNConvolution: @unchecked Sendable {
    /// The three passes of a convolution.
    enum Pass: Int, CaseIterable {
      case forward, inputGradient, parameterGradient
    }

    /// The tensors of one sample's passes: the caller's, in PyTorch's layouts,
    /// then oneDNN's copies in the layouts its kernels chose.
    enum Buffer: Int, CaseIterable {
      case input, output, weights, bias, outputGradient, inputGradient, weightGradient
      case forwardInput, forwardWeights, forwardOutput
      case dataWeights, dataOutputGradient, dataInputGradient
      case gradientInput, gradientOutputGradient, gradientWeights, gradientBias, weightGradientSum

      /// Whether the caller gives it at each call (else it lives in the working space).
      var isCallers: Bool { rawValue <= Buffer.weightGradient.rawValue }
    }

    /// The primitives, in the order the passes run them.
    enum Step: Int, CaseIterable {
      case inputToForward, forward, forwardToOutput, weightsToForward
      case weightsToData, outputGradientToData, data, dataToInputGradient
      case inputToGradient, outputGradientToGradient, gradient, sumToWeightGradient
    }

    /// A primitive and the buffers it reads and writes.
    private struct Operation {
      let primitive: dnnl_primitive_t
      let descriptor: dnnl_primitive_desc_t
      let arguments: [(Int32, Buffer)]
      let scratchpad: dnnl_memory_desc_t?
    }

    /// The CPU engine, or nil where oneDNN does not start.
    nonisolated(unsafe) static let engine: dnnl_engine_t? = {
      var engine: dnnl_engine_t?
      guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success else { return nil }
      return engine
    }()

    /// oneDNN's name for each pass's kernel, such as `jit:avx512_core`.
    let implementations: [String]
    /// Floats of working space one worker needs.
    let temporaryFloats: Int
    /// Floats in one sample's weight gradient in oneDNN's layout; the
    /// weights' and the bias's counts.
    private let weightGradientFloats: Int, weightCount: Int, biasCount: Int
    private let descriptors: [dnnl_memory_desc_t]
    private let offsets: [Int]
    private let scratchpadOffset: Int
    private var operations: [Operation] = []
    private let lanes = Mutex<[UInt: Lane]>([:])

    /// Makes the primitives, or nil where oneDNN cannot run this convolution.
    init?(_ layer: Convolution, input: Shape, output: Shape) {
      guard let engine = Self.engine else { return nil }
      func descriptor(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t? {
        var descriptor = dnnl_memory_desc_t()
        var dims = dims.map(Int64.init)
        let status = dnnl_memory_desc_init_by_tag(&descriptor, Int32(dims.count), &dims, dnnl_f32, tag)
        return status == dnnl_success ? descriptor : nil
      }
      let inputDims = [1, input.channels, input.height, input.width]
      let outputDims = [1, output.channels, output.height, output.width]
      let weightDims = [layer.outputChannels, layer.inputChannels, layer.kernel, layer.kernel]
      guard let plainInput = descriptor(inputDims, dnnl_nchw), let plainOutput = descriptor(outputDims, dnnl_nchw),
        let plainWeights = descriptor(weightDims, dnnl_oihw), var bias = descriptor([layer.outputChannels], dnnl_x),
        var anyInput = descriptor(inputDims, dnnl_format_tag_any),
        var anyOutput = descriptor(outputDims, dnnl_format_tag_any),
        var anyWeights = descriptor(weightDims, dnnl_format_tag_any)
      else { return nil }

      var attributes: dnnl_primitive_attr_t?
      guard dnnl_primitive_attr_create(&attributes) == dnnl_success else { return nil }
      defer { dnnl_primitive_attr_destroy(attributes) }
      // Scratch memory comes from the worker's working space, not from oneDNN's allocator.
      guard dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user) == dnnl_success else {
        return nil
      }

      var strides = [Int64(layer.stride), Int64(layer.stride)]
      var left = [Int64(layer.padding), Int64(layer.padding)]
      var right = left
      var forwardDescription = dnnl_convolution_desc_t()
      var dataDescription = dnnl_convolution_desc_t()
      var gradientDescription = dnnl_convolution_desc_t()
      guard
        dnnl_convolution_forward_desc_init(
          &forwardDescription, dnnl_forward_training, dnnl_convolution_direct, &anyInput, &anyWeights, &bias,
          &anyOutput, &strides, &left, &right) == dnnl_success,
        dnnl_convolution_backward_data_desc_init(
          &dataDescription, dnnl_convolution_direct, &anyInput, &anyWeights, &anyOutput, &strides, &left, &right)
          == dnnl_success,
        dnnl_convolution_backward_weights_desc_init(
          &gradientDescription, dnnl_convolution_direct, &anyInput, &anyWeights, &bias, &anyOutput, &strides, &left,
          &right) == dnnl_success
      else { return nil }

      var created: [dnnl_primitive_desc_t] = []
      func make(_ description: UnsafeRawPointer, hint: dnnl_primitive_desc_t?) -> dnnl_primitive_desc_t? {
        var made: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&made, description, attributes, engine, hint) == dnnl_success, let made
        else { return nil }
        created.append(made)
        return made
      }
      guard let forward = make(&forwardDescription, hint: nil),
        let data = make(&dataDescription, hint: forward),
        let gradient = make(&gradientDescription, hint: forward)
      else {
        for made in created { dnnl_primitive_desc_destroy(made) }
        return nil
      }
      func layout(_ pd: dnnl_primitive_desc_t, _ query: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(pd, query, index).pointee
      }
      func reorder(_ from: dnnl_memory_desc_t, _ to: dnnl_memory_desc_t) -> dnnl_primitive_desc_t? {
        var (from, to) = (from, to)
        var made: dnnl_primitive_desc_t?
        guard dnnl_reorder_primitive_desc_create(&made, &from, engine, &to, engine, attributes) == dnnl_success,
          let made
        else { return nil }
        created.append(made)
        return made
      }

      // Every buffer's layout: the caller's plain ones, then the kernels' choices.
      var layouts = [dnnl_memory_desc_t](repeating: dnnl_memory_desc_t(), count: Buffer.allCases.count)
      layouts[Buffer.input.rawValue] = plainInput
      layouts[Buffer.output.rawValue] = plainOutput
      layouts[Buffer.weights.rawValue] = plainWeights
      layouts[Buffer.bias.rawValue] = bias
      layouts[Buffer.outputGradient.rawValue] = plainOutput
      layouts[Buffer.inputGradient.rawValue] = plainInput
      layouts[Buffer.weightGradient.rawValue] = plainWeights
      layouts[Buffer.forwardInput.rawValue] = layout(forward, dnnl_query_src_md)
      layouts[Buffer.forwardWeights.rawValue] = layout(forward, dnnl_query_weights_md)
      layouts[Buffer.forwardOutput.rawValue] = layout(forward, dnnl_query_dst_md)
      layouts[Buffer.dataWeights.rawValue] = layout(data, dnnl_query_weights_md)
      layouts[Buffer.dataOutputGradient.rawValue] = layout(data, dnnl_query_diff_dst_md)
      layouts[Buffer.dataInputGradient.rawValue] = layout(data, dnnl_query_diff_src_md)
      layouts[Buffer.gradientInput.rawValue] = layout(gradient, dnnl_query_src_md)
      layouts[Buffer.gradientOutputGradient.rawValue] = layout(gradient, dnnl_query_diff_dst_md)
      layouts[Buffer.gradientWeights.rawValue] = layout(gradient, dnnl_query_diff_weights_md)
      layouts[Buffer.gradientBias.rawValue] = layout(gradient, dnnl_query_diff_weights_md, 1)
      layouts[Buffer.weightGradientSum.rawValue] = layouts[Buffer.gradientWeights.rawValue]

      // The steps, each a primitive description and its arguments.
      let copies: [(Step, Buffer, Buffer)] = [
        (.inputToForward, .input, .forwardInput), (.forwardToOutput, .forwardOutput, .output),
        (.weightsToForward, .weights, .forwardWeights), (.weightsToData, .weights, .dataWeights),
        (.outputGradientToData, .outputGradient, .dataOutputGradient),
        (.dataToInputGradient, .dataInputGradient, .inputGradient), (.inputToGradient, .input, .gradientInput),
        (.outputGradientToGradient, .outputGradient, .gradientOutputGradient),
        (.sumToWeightGradient, .weightGradientSum, .weightGradient),
      ]
      var plan: [(Step, dnnl_primitive_desc_t, [(Int32, Buffer)])] = [
        (.forward, forward, [(1, .forwardInput), (33, .forwardWeights), (41, .bias), (17, .forwardOutput)]),
        (.data, data, [(145, .dataOutputGradient), (33, .dataWeights), (129, .dataInputGradient)]),
        (
          .gradient, gradient,
          [(1, .gradientInput), (145, .gradientOutputGradient), (161, .gradientWeights), (169, .gradientBias)]
        ),
      ]
      for (step, from, to) in copies {
        guard let made = reorder(layouts[from.rawValue], layouts[to.rawValue]) else {
          for made in created { dnnl_primitive_desc_destroy(made) }
          return nil
        }
        plan.append((step, made, [(1, from), (17, to)]))
      }
      plan.sort { $0.0.rawValue < $1.0.rawValue }

      var operations: [Operation] = []
      for (_, descriptor, arguments) in plan {
        var primitive: dnnl_primitive_t?
        guard dnnl_primitive_create(&primitive, descriptor) == dnnl_success, let primitive else {
          for operation in operations { dnnl_primitive_destroy(operation.primitive) }
          for made in created { dnnl_primitive_desc_destroy(made) }
          return nil
        }
        var scratchpad: dnnl_memory_desc_t? = layout(descriptor, dnnl_query_scratchpad_md)
        if dnnl_memory_desc_get_size(&scratchpad!) == 0 { scratchpad = nil }
        operations.append(
          Operation(primitive: primitive, descriptor: descriptor, arguments: arguments, scratchpad: scratchpad))
      }

      // The working space: oneDNN's buffers, 64-byte aligned, then one scratchpad shared by all steps.
      func floats(_ layout: dnnl_memory_desc_t) -> Int {
        var layout = layout
        return (dnnl_memory_desc_get_size(&layout) + 63) / 64 * 16
      }
      var offsets = [Int](repeating: 0, count: Buffer.allCases.count)
      var end = 0
      for buffer in Buffer.allCases where !buffer.isCallers {
        offsets[buffer.rawValue] = end
        end += floats(layouts[buffer.rawValue])
      }
      scratchpadOffset = end
      end += operations.compactMap { $0.scratchpad.map(floats) }.max() ?? 0
      temporaryFloats = end
      weightGradientFloats = floats(layouts[Buffer.gradientWeights.rawValue])
      weightCount = weightDims.reduce(1, *)
      biasCount = layer.outputChannels
      descriptors = layouts
      self.offsets = offsets
      self.operations = operations
      implementations = [Step.forward, .data, .gradient].map { step in
        var info: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(operations[step.rawValue].descriptor, dnnl_query_impl_info_str, 0, &info)
        return info.map { String(cString: $0) } ?? "unknown"
      }
    }

    deinit {
      for operation in operations {
        dnnl_primitive_destroy(operation.primitive)
        dnnl_primitive_desc_destroy(operation.descriptor)
      }
    }

    /// Whether `pass` runs here under `kernels`: `auto` takes oneDNN's direct
    /// kernels, not its fallbacks (im2col with GEMM, reference loops).
    func runs(_ pass: Pass, under kernels: ConvolutionKernels) -> Bool {
      switch kernels {
      case .im2col: return false
      case .onednn: return true
      case .auto:
        let name = implementations[pass.rawValue]
        return !name.contains("gemm") && !name.hasPrefix("ref")
      }
    }

    // MARK: - The passes, one sample at a time
    //
    // Each returns false if oneDNN failed (out of memory inside a primitive's
    // run): the layer then runs the pass again with im2col.

    /// The outputs of `rows` samples.
    func forward(_ buffers: LayerBuffers<Float>, rows: Int, lane: Lane, biasOffset: Int) -> Bool {
      let (inputCount, outputCount) = (buffers.inputShape.count, buffers.outputShape.count)
      lane.bind(.weights, buffers.parameters)
      lane.bind(.bias, buffers.parameters + biasOffset)
      guard run(.weightsToForward, lane) else { return false }
      for row in 0..<rows {
        lane.bind(.input, buffers.input + row * inputCount)
        lane.bind(.output, buffers.output + row * outputCount)
        guard run(.inputToForward, lane), run(.forward, lane), run(.forwardToOutput, lane) else { return false }
      }
      return true
    }

    /// The gradients of `rows` samples' inputs.
    func inputGradient(_ buffers: LayerBuffers<Float>, rows: Int, lane: Lane) -> Bool {
      let (inputCount, outputCount) = (buffers.inputShape.count, buffers.outputShape.count)
      lane.bind(.weights, buffers.parameters)
      guard run(.weightsToData, lane) else { return false }
      for row in 0..<rows {
        lane.bind(.outputGradient, buffers.outputGradient + row * outputCount)
        lane.bind(.inputGradient, buffers.inputGradient + row * inputCount)
        guard run(.outputGradientToData, lane), run(.data, lane), run(.dataToInputGradient, lane) else {
          return false
        }
      }
      return true
    }

    /// `scale` times the sum over `rows` samples of the weights' and the
    /// bias's gradients, the samples added in order.
    func parameterGradient(
      _ buffers: LayerBuffers<Float>, rows: Int, scale: Float, weights: UnsafeMutablePointer<Float>,
      bias: UnsafeMutablePointer<Float>, lane: Lane
    ) -> Bool {
      let (inputCount, outputCount) = (buffers.inputShape.count, buffers.outputShape.count)
      let sum = lane.pointer(.weightGradientSum)
      let sample = lane.pointer(.gradientWeights)
      let sampleBias = lane.pointer(.gradientBias)
      sum.update(repeating: 0, count: weightGradientFloats)
      bias.update(repeating: 0, count: biasCount)
      for row in 0..<rows {
        lane.bind(.input, buffers.input + row * inputCount)
        lane.bind(.outputGradient, buffers.outputGradient + row * outputCount)
        guard run(.inputToGradient, lane), run(.outputGradientToGradient, lane), run(.gradient, lane) else {
          return false
        }
        for index in 0..<weightGradientFloats { sum[index] += sample[index] }
        for unit in 0..<biasCount { bias[unit] += sampleBias[unit] }
      }
      lane.bind(.weightGradient, weights)
      guard run(.sumToWeightGradient, lane) else { return false }
      if scale != 1 {
        for index in 0..<weightCount { weights[index] *= scale }
        for unit in 0..<biasCount { bias[unit] *= scale }
      }
      return true
    }

    /// Runs one step; false if oneDNN failed.
    private func run(_ step: Step, _ lane: Lane) -> Bool {
      let arguments = lane.arguments[step.rawValue]
      return dnnl_primitive_execute(
        operations[step.rawValue].primitive, lane.stream, Int32(arguments.count), arguments.baseAddress)
        == dnnl_success
    }

    // MARK: - Lanes

    /// What one worker binds: a memory object per buffer (oneDNN's inside its
    /// working space), its stream, and each step's argument list.
    final class Lane: @unchecked Sendable {
      let stream: dnnl_stream_t
      private var memories: [dnnl_memory_t] = []
      private var scratchpads: [dnnl_memory_t] = []
      private(set) var arguments: [UnsafeMutableBufferPointer<dnnl_exec_arg_t>] = []
      private let base: UnsafeMutablePointer<Float>
      private let offsets: [Int]

      fileprivate init?(_ plan: OneDNNConvolution, temporary: UnsafeMutablePointer<Float>) {
        guard let engine = OneDNNConvolution.engine else { return nil }
        var stream: dnnl_stream_t?
        guard dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success, let stream
        else { return nil }
        self.stream = stream
        base = temporary
        offsets = plan.offsets
        for buffer in Buffer.allCases {
          var layout = plan.descriptors[buffer.rawValue]
          let handle: UnsafeMutableRawPointer? =
            buffer.isCallers ? nil : UnsafeMutableRawPointer(temporary + plan.offsets[buffer.rawValue])
          var memory: dnnl_memory_t?
          guard dnnl_memory_create(&memory, &layout, engine, handle) == dnnl_success, let memory else { return nil }
          memories.append(memory)
        }
        for operation in plan.operations {
          var list = operation.arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: memories[$0.1.rawValue]) }
          if var scratchpad = operation.scratchpad {
            var memory: dnnl_memory_t?
            let handle = UnsafeMutableRawPointer(temporary + plan.scratchpadOffset)
            guard dnnl_memory_create(&memory, &scratchpad, engine, handle) == dnnl_success, let memory else {
              return nil
            }
            scratchpads.append(memory)
            list.append(dnnl_exec_arg_t(arg: 80, memory: memory))
          }
          let arguments = UnsafeMutableBufferPointer<dnnl_exec_arg_t>.allocate(capacity: list.count)
          _ = arguments.initialize(from: list)
          self.arguments.append(arguments)
        }
      }

      deinit {
        for list in arguments { list.deallocate() }
        for memory in memories + scratchpads { dnnl_memory_destroy(memory) }
        dnnl_stream_destroy(stream)
      }

      /// Points a caller's buffer at `pointer` for the next steps.
      func bind(_ buffer: Buffer, _ pointer: UnsafePointer<Float>) {
        dnnl_memory_set_data_handle(memories[buffer.rawValue], UnsafeMutableRawPointer(mutating: pointer))
      }

      /// Where one of oneDNN's buffers lies in the working space.
      func pointer(_ buffer: Buffer) -> UnsafeMutablePointer<Float> { base + offsets[buffer.rawValue] }
    }

    /// The lane for the working space at `temporary`, made on first use. A
    /// process that makes many workspaces drops old lanes now and then (a
    /// caller holding one keeps it alive).
    func lane(for temporary: UnsafeMutablePointer<Float>) -> Lane? {
      // One team of one OpenMP thread for this worker (a per-thread setting, cheap to repeat).
      omp_set_num_threads(1)
      let key = UInt(bitPattern: temporary)
      return lanes.withLock { lanes in
        if let lane = lanes[key] { return lane }
        if lanes.count >= 64 { lanes.removeAll() }
        let lane = Lane(self, temporary: temporary)
        lanes[key] = lane
        return lane
      }
    }

    // MARK: - Plans per process

    /// A convolution's geometry: what its primitives depend on.
    private struct Key: Hashable {
      let inputChannels: Int, outputChannels: Int, kernel: Int, stride: Int, padding: Int
      let input: Shape
    }

    private static let plans = Mutex<[Key: OneDNNConvolution?]>([:])

    /// The primitives for `layer` over `input`, made on first use; nil where
    /// oneDNN cannot run it.
    static func plan(for layer: Convolution, input: Shape) -> OneDNNConvolution? {
      guard engine != nil, let output = try? layer.outputShape(input: input) else { return nil }
      let key = Key(
        inputChannels: layer.inputChannels, outputChannels: layer.outputChannels, kernel: layer.kernel,
        stride: layer.stride, padding: layer.padding, input: input)
      return plans.withLock { plans in
        if let known = plans[key] { return known }
        // oneDNN splits a primitive's work for the team size it sees now: one.
        let team = omp_get_max_threads()
        omp_set_num_threads(1)
        defer { omp_set_num_threads(team) }
        let made = OneDNNConvolution(layer, input: input, output: output)
        plans[key] = made
        return made
      }
    }
  }
#endif
