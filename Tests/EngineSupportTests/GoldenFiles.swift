import Foundation

/// The directory of the committed reference files (metric values, PNG fixtures).
let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
