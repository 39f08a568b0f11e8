import Foundation

/// A value in a hand-ordered JSON line (metrics logs, benchmark output): JSONEncoder sorts or
/// scrambles keys, and these lines are read by people as well as scripts.
public enum JSONValue {
    case int(Int)
    /// Six significant digits.
    case double(Double)
    /// A fixed number of decimals, as Python's round() then json.dumps prints it.
    case fixed(Double, decimals: Int)
    case bool(Bool)
    case string(String)
}

/// One JSON object with its keys in the given order.
public func jsonLine(_ fields: [(String, JSONValue)]) -> String {
    "{" + fields.map { key, value in
        let rendered: String
        switch value {
        case .int(let i): rendered = String(i)
        case .double(let d): rendered = d.isFinite ? String(format: "%.6g", d) : "null"
        case .fixed(let d, let decimals): rendered = d.isFinite ? String(format: "%.\(decimals)f", d) : "null"
        case .bool(let b): rendered = b ? "true" : "false"
        case .string(let s):
            rendered = "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return "\"\(key)\": \(rendered)"
    }.joined(separator: ", ") + "}"
}
