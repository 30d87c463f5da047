import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Checks that a file can be written at `path` before any long work starts,
/// so a run never ends in an error about its output.
func checkWritable(_ path: String, option: String) throws(CommandFailure) {
  let folder = FilePath.folder(of: path)
  var info = stat()
  if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
    throw CommandFailure("\(option) \(path): is a folder")
  }
  guard access(folder, W_OK) == 0 else {
    throw CommandFailure("\(option) \(path): cannot write in folder '\(folder)' (\(String(cString: strerror(errno))))")
  }
}
