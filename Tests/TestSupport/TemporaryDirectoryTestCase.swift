import Foundation
import XCTest

/// A test case with a fresh temporary directory per test (`directory`), removed afterwards.
open class TemporaryDirectoryTestCase: XCTestCase {
    public var directory: String!

    override open func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "zoo-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override open func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }
}
