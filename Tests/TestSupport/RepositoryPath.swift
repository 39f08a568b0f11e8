import Foundation

/// The repository's root folder (this file is Tests/TestSupport/RepositoryPath.swift), so tests
/// can read docs/ and the committed fixtures wherever the clone lives.
public let repositoryRoot: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// `relative` inside the repository.
public func repositoryPath(_ relative: String) -> String { repositoryRoot + "/" + relative }
