#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What a path names, as `stat` tells it: what output checks refuse to
/// replace and input checks refuse to read.
enum FileKind: Equatable, CustomStringConvertible {
  case regular, folder, characterDevice, blockDevice, fifo, socket, symbolicLink, other

  init(mode: mode_t) {
    switch mode & S_IFMT {
    case S_IFREG: self = .regular
    case S_IFDIR: self = .folder
    case S_IFCHR: self = .characterDevice
    case S_IFBLK: self = .blockDevice
    case S_IFIFO: self = .fifo
    case S_IFSOCK: self = .socket
    case S_IFLNK: self = .symbolicLink
    default: self = .other
    }
  }

  var description: String {
    switch self {
    case .regular: "a regular file"
    case .folder: "a folder"
    case .characterDevice: "a character device"
    case .blockDevice: "a block device"
    case .fifo: "a FIFO (named pipe)"
    case .socket: "a socket"
    case .symbolicLink: "a symbolic link"
    case .other: "not a regular file"
    }
  }

  /// The type of the kernel pseudo file system `folder` (or a file) is on (`proc`,
  /// `sysfs`, …), whose "files" are views of the kernel, not storage; `nil`
  /// for a real one. Read from the mount table (`/proc/self/mounts`): the
  /// mount point that is the longest prefix of the resolved folder.
  static func pseudoFileSystem(_ folder: String) -> String? {
    guard let resolved = realpath(folder, nil) else { return nil }
    let path = String(cString: resolved)
    free(resolved)
    let pseudo: Set<Substring> = [
      "proc", "sysfs", "debugfs", "cgroup", "cgroup2", "securityfs", "devpts", "tracefs", "bpf", "pstore",
      "configfs", "efivarfs", "fusectl", "mqueue", "hugetlbfs", "binfmt_misc",
    ]
    var best: (length: Int, type: Substring)? = nil
    for line in ProcFile.text("/proc/self/mounts").split(separator: "\n") {
      let fields = line.split(separator: " ")
      guard fields.count >= 3 else { continue }
      let point = String(fields[1].replacing("\\040", with: " "))
      let covers = point == "/" || path == point || path.hasPrefix(point + "/")
      if covers, point.count >= best?.length ?? 0 { best = (point.count, fields[2]) }
    }
    guard let type = best?.type, pseudo.contains(type) else { return nil }
    return String(type)
  }

  /// Why the existing regular file at `path` cannot be replaced although its
  /// folder may be written: `immutable or append-only` when the kernel
  /// refuses to open it for writing even to its owner (`chattr +i`/`+a`);
  /// `nil` otherwise. Opening without `O_TRUNC` changes nothing.
  static func protectionFlag(_ path: String) -> String? {
    var link = stat()
    guard lstat(path, &link) == 0, FileKind(mode: link.st_mode) == .regular else { return nil }
    let descriptor = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
    if descriptor >= 0 {
      close(descriptor)
      return nil
    }
    return errno == EPERM ? "immutable or append-only" : nil
  }
}
