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
    /// An array of numbers, six significant digits each (non-finite ones as null).
    case numbers([Double])
    case null
}

/// One JSON object with its keys in the given order.
public func jsonLine(_ fields: [(String, JSONValue)]) -> String {
    "{"
        + fields.map { key, value in
            let rendered: String
            switch value {
            case .int(let i): rendered = String(i)
            case .double(let d): rendered = d.isFinite ? String(format: "%.6g", d) : "null"
            case .fixed(let d, let decimals): rendered = d.isFinite ? String(format: "%.\(decimals)f", d) : "null"
            case .bool(let b): rendered = b ? "true" : "false"
            case .string(let s): rendered = jsonString(s)
            case .numbers(let values):
                rendered =
                    "[" + values.map { $0.isFinite ? String(format: "%.6g", $0) : "null" }.joined(separator: ", ") + "]"
            case .null: rendered = "null"
            }
            return "\"\(key)\": \(rendered)"
        }.joined(separator: ", ") + "}"
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped.
func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
