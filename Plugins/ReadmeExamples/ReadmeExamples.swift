import Foundation
import PackagePlugin

/// Turns the README's Swift blocks into a source file of the target that uses
/// the plugin (the tests), rebuilt whenever README.md changes.
@main
struct ReadmeExamples: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let readme = context.package.directoryURL.appending(path: "README.md")
    let output = context.pluginWorkDirectoryURL.appending(path: "ReadmeBlocks.swift")
    return [
      .buildCommand(
        displayName: "Extracting the Swift blocks of README.md",
        executable: try context.tool(named: "ReadmeExtractor").url,
        arguments: [readme.path, output.path],
        inputFiles: [readme],
        outputFiles: [output])
    ]
  }
}
