/// TensorBoard's event records, encoded by hand: an `Event` protocol buffer
/// (`tensorflow/core/util/event.proto`) in a TFRecord frame, as the
/// `events.out.tfevents.*` files TensorBoard reads hold them.
///
/// - `Event`: `wall_time` (1, double), `step` (2, int64), `file_version`
///   (3, string), `summary` (5), `session_log` (7).
/// - `Summary`: repeated `value` (1); `Summary.Value`: `tag` (1, string),
///   `simple_value` (2, float).
/// - `SessionLog`: `status` (1, enum; `START` is 1).
/// - The frame: the length (uint64, little-endian), its masked CRC-32C
///   (uint32), the bytes, their masked CRC-32C.
public enum TensorBoardEvent {
  /// The first event of every file: the format's version.
  public static func fileVersion(wallTime: Double) -> [UInt8] {
    var event = ProtocolBuffer()
    event.double(1, wallTime)
    event.string(3, "brain.Event:2")
    return event.bytes
  }

  /// Scalars logged at `step`.
  public static func scalars(_ values: [(tag: String, value: Float)], step: Int, wallTime: Double) -> [UInt8] {
    var summary = ProtocolBuffer()
    for (tag, value) in values {
      var entry = ProtocolBuffer()
      entry.string(1, tag)
      entry.float(2, value)
      summary.message(1, entry)
    }
    var event = ProtocolBuffer()
    event.double(1, wallTime)
    event.integer(2, step)
    event.message(5, summary)
    return event.bytes
  }

  /// A run (re)starting at `step`: TensorBoard drops the events a run
  /// logged earlier at this step and after (a resumed run's steps replace
  /// those a crashed run logged past its checkpoint).
  public static func sessionStart(step: Int, wallTime: Double) -> [UInt8] {
    var log = ProtocolBuffer()
    log.integer(1, 1)
    var event = ProtocolBuffer()
    event.double(1, wallTime)
    event.integer(2, step)
    event.message(7, log)
    return event.bytes
  }

  /// `event` in its TFRecord frame.
  public static func record(_ event: [UInt8]) -> [UInt8] {
    var length = [UInt8]()
    withUnsafeBytes(of: UInt64(event.count).littleEndian) { length.append(contentsOf: $0) }
    var framed = length
    withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { framed.append(contentsOf: $0) }
    framed += event
    withUnsafeBytes(of: CRC32C.masked(event).littleEndian) { framed.append(contentsOf: $0) }
    return framed
  }
}
