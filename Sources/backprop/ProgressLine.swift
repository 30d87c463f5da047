import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A progress line on standard error, redrawn in place, shown only when
/// standard error is a terminal (and `--quiet` is not given), at most ten
/// times a second.
final class ProgressLine {
  /// Whether the line is drawn.
  let enabled: Bool
  private let clock = ContinuousClock()
  private var lastDrawn: ContinuousClock.Instant? = nil
  private var visible = false
  private var firstSeen: (instant: ContinuousClock.Instant, step: Int)? = nil

  /// A line drawn unless `quiet` or standard error is not a terminal.
  init(quiet: Bool) {
    enabled = !quiet && isatty(2) == 1
  }

  /// Redraws the line for `progress` (throttled).
  func update(_ progress: TrainingProgress) {
    guard enabled else { return }
    let now = clock.now
    if firstSeen == nil { firstSeen = (now, progress.step) }
    if let lastDrawn, now - lastDrawn < .milliseconds(100) { return }
    lastDrawn = now
    let epochs = progress.epochs > 1_000_000 ? "" : "/\(progress.epochs)"
    let line =
      "epoch \(progress.epoch)\(epochs)  batch \(progress.batch)/\(progress.batches)  "
      + "loss \(Report.fixed(progress.loss, 4))  \(Report.grouped(progress.samplesPerSecond)) samples/s  "
      + "left \(Report.clock(timeLeft(progress, now: now)))"
    writeStandardError("\r\u{1B}[2K" + line)
    visible = true
  }

  /// Removes the line so that other output starts on a clean line.
  func clear() {
    guard enabled, visible else { return }
    writeStandardError("\r\u{1B}[2K")
    visible = false
  }

  /// Seconds left, from the rate of steps since the first update.
  private func timeLeft(_ progress: TrainingProgress, now: ContinuousClock.Instant) -> Double {
    guard let firstSeen, progress.step > firstSeen.step else { return 0 }
    let elapsed = (now - firstSeen.instant).seconds
    return elapsed / Double(progress.step - firstSeen.step) * Double(progress.totalSteps - progress.step)
  }
}
