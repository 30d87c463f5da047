import ArgumentParser
import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// When `OPENBLAS_CORETYPE` pins AVX2 kernels on a CPU with AVX-512 (see
/// ``BLASKernels/widerCoreType``): how much faster SGEMM runs with the
/// kernels OpenBLAS would choose itself. This process measures its own
/// kernels; a copy of it started without the variable (`backprop
/// blas-probe`, hidden) measures the library's choice, since OpenBLAS picks
/// its kernels once, when it loads.
enum KernelWidthProbe {
  /// The line for `topology` and `--profile`, or `nil` when the kernels are
  /// not pinned narrower than the CPU.
  static var note: String? { measurement.map(\.text) }

  /// The figures, for JSON.
  static var json: JSONValue {
    guard let measured = measurement else { return .null }
    return .object([
      ("pinned_kernels", .string(BLASKernels.current.core)), ("cpu_supports", .string(measured.wider)),
      ("pinned_gflops", .number(measured.pinned)), ("library_choice_gflops", measured.own.map { .number($0) } ?? .null),
      ("factor", measured.own.map { .number($0 / measured.pinned) } ?? .null),
    ])
  }

  private struct Measurement {
    let wider: String
    let pinned: Double
    let own: Double?

    var text: String {
      let pin = String(cString: getenv("OPENBLAS_CORETYPE"))
      var text =
        "OPENBLAS_CORETYPE=\(FilePath.printable(pin)) pins OpenBLAS to its \(BLASKernels.current.core) (AVX2) kernels "
        + "on a CPU with AVX-512 (\(wider)): SGEMM (512³, one thread) runs at \(Report.fixed(pinned, 0)) GFLOP/s"
      if let own {
        text += " against \(Report.fixed(own, 0)) with the library's own choice, \(Report.fixed(own / pinned, 2))×"
        text +=
          own >= 1.1 * pinned
          ? " (unset OPENBLAS_CORETYPE to get them)" : " (no faster on this machine now: the pin costs little here)"
      } else {
        text += " (the library's own choice was not measured: unset OPENBLAS_CORETYPE and compare)"
      }
      return text
    }
  }

  /// Measured once, when first asked.
  nonisolated(unsafe) private static var measured: Measurement?? = nil

  private static var measurement: Measurement? {
    if let measured { return measured }
    var result: Measurement? = nil
    if let wider = BLASKernels.current.widerCoreType {
      // A process started under mpirun is not copied (Open MPI warns of fork).
      let own = Ranks.group.isDistributed ? nil : libraryChoiceGigaflops()
      result = Measurement(wider: wider, pinned: SGEMMProbe.gigaflops(), own: own)
    }
    measured = .some(result)
    return result
  }

  /// `backprop blas-probe`'s figure, started without `OPENBLAS_CORETYPE`;
  /// `nil` if it could not run.
  private static func libraryChoiceGigaflops() -> Double? {
    var environment = [String]()
    var entry = environ
    while let pointer = entry.pointee {
      let text = String(cString: pointer)
      if !text.hasPrefix("OPENBLAS_CORETYPE=") && !text.hasPrefix(BLASKernelChoice.replacedVariable + "=") {
        environment.append(text)
      }
      entry += 1
    }
    var pipe: [Int32] = [0, 0]
    guard Glibc.pipe(&pipe) == 0 else { return nil }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipe[0])
    let arguments = ["/proc/self/exe", "blas-probe"]
    var pid: pid_t = 0
    let status = withCStrings(arguments) { argv in
      withCStrings(environment) { envp in posix_spawn(&pid, "/proc/self/exe", &actions, nil, argv, envp) }
    }
    close(pipe[1])
    defer { close(pipe[0]) }
    guard status == 0 else { return nil }
    var output = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 256)
    while true {
      let count = read(pipe[0], &buffer, buffer.count)
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { break }
      output += buffer[0..<count]
    }
    var exit: Int32 = 0
    while waitpid(pid, &exit, 0) < 0 && errno == EINTR {}
    return Double(String(decoding: output, as: UTF8.self).filter { !$0.isWhitespace })
  }

  /// `strings` as a NULL-terminated C array for `body`.
  private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { strdup($0) } + [nil]
    defer { copies.forEach { free($0) } }
    return body(copies)
  }
}

/// `backprop blas-probe` (hidden): this process's single-threaded SGEMM
/// GFLOP/s, for ``KernelWidthProbe``.
struct BLASProbeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "blas-probe", abstract: "Print this process's single-threaded SGEMM GFLOP/s.", shouldDisplay: false)

  @Option(help: "The products' size.")
  var size: Int = SGEMMProbe.size

  func run() throws {
    guard size > 0 && size <= 8192 else { throw CommandFailure("--size must be in 1...8192, got \(size)") }
    writeStandardOutput("\(SGEMMProbe.gigaflops(size: size))\n")
  }
}
