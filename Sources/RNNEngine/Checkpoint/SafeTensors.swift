import Foundation

/// The contents of a safetensors file: named tensors (converted to Float32) and the
/// `__metadata__` strings.
public struct SafeTensorsFile {
    /// Tensor names in the order of their data in the file.
    public var names: [String]
    public var tensors: [String: Tensor]
    public var metadata: [String: String]

    public init(names: [String] = [], tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.names = names
        self.tensors = tensors
        self.metadata = metadata
    }
}

/// Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets}, "__metadata__": {...}}`, then raw
/// little-endian tensor data. Files written by Python's `safetensors` load here, and ours load there.
public enum SafeTensors {
    static let maximumHeaderBytes = 100 << 20

    public static func read(path: String) throws -> SafeTensorsFile {
        // Read through one descriptor into memory, not mapped: a checkpoint replaced while it is
        // read (a training run renaming a new one over it: the old file stays whole; `cp` over
        // it: a short read, a malformed-file error) never faults the process, as touching a
        // mapping whose file shrank does (SIGBUS).
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.readToEnd() ?? Data()
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? fileErrorReason(error) : "no such file"
            throw CheckpointError.unreadable(path: path, reason: reason)
        }
        return try decode(data, path: path)
    }

    /// Parses a whole file's bytes; `path` only names the file in errors.
    public static func decode(_ data: Data, path: String) throws -> SafeTensorsFile {
        func fail(_ reason: String) -> CheckpointError { .malformed(path: path, reason: reason) }
        guard data.count >= 8 else { throw fail("\(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        guard headerLength <= UInt64(maximumHeaderBytes), Int(headerLength) <= data.count - 8 else {
            throw fail("header length \(headerLength) does not fit in a file of \(data.count) bytes")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = data.subdata(in: 8..<headerEnd)
        // JSONDecoder, not JSONSerialization: the latter drops a U+FEFF that begins a string,
        // and a checkpoint's strings (a vocabulary's tokens) must come back byte for byte.
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: headerBytes)
        } catch let error as CheckpointError {
            throw error.naming(path)
        } catch {
            throw fail("the header is not a JSON object of tensors and string metadata (\(jsonErrorReason(error)))")
        }
        let dataSize = data.count - headerEnd
        var file = SafeTensorsFile()
        file.metadata = header.metadata
        var entries: [(name: String, begin: Int, end: Int, dtype: String, shape: [Int])] = []
        for (name, entry) in header.entries {
            guard let dtype = entry.dtype, let shape = entry.shape, let offsets = entry.offsets, offsets.count == 2
            else {
                throw fail("tensor '\(name)' lacks a dtype, shape or data_offsets")
            }
            let begin = offsets[0], end = offsets[1]
            guard shape.allSatisfy({ $0 >= 0 }), begin >= 0, begin <= end, end <= dataSize else {
                throw fail(
                    "tensor '\(name)' has offsets [\(begin), \(end)] outside the \(dataSize) data bytes or a negative dimension"
                )
            }
            entries.append((name, begin, end, dtype, shape))
        }
        entries.sort { ($0.begin, $0.name) < ($1.begin, $1.name) }
        // Tensors may not share bytes (the Python reader refuses that too).
        for (previous, next) in zip(entries, entries.dropFirst()) where next.begin < previous.end {
            throw fail(
                "tensors '\(previous.name)' [\(previous.begin), \(previous.end)] and '\(next.name)' [\(next.begin), \(next.end)] overlap"
            )
        }
        for entry in entries {
            guard let elementSize = dtypeSize[entry.dtype] else {
                throw CheckpointError.unsupportedDType(path: path, name: entry.name, dtype: entry.dtype)
            }
            // A hostile shape ([2^33, 2^33]) must not overflow into a small, plausible size.
            var count = 1, overflow = false
            for dimension in entry.shape where !overflow {
                (count, overflow) = count.multipliedReportingOverflow(by: dimension)
            }
            let (bytes, bytesOverflow) = count.multipliedReportingOverflow(by: elementSize)
            guard !overflow, !bytesOverflow, bytes == entry.end - entry.begin else {
                let needs = overflow || bytesOverflow ? "more bytes than a file can hold" : "\(bytes) bytes"
                throw fail(
                    "tensor '\(entry.name)' of shape \(entry.shape) and dtype \(entry.dtype) needs \(needs), its offsets span \(entry.end - entry.begin)"
                )
            }
            let tensor = Tensor(zeros: entry.shape)
            data.withUnsafeBytes { raw in
                convert(raw.baseAddress! + headerEnd + entry.begin, dtype: entry.dtype, count: count, into: tensor.data)
            }
            file.names.append(entry.name)
            file.tensors[entry.name] = tensor
        }
        return file
    }

    static let dtypeSize: [String: Int] = [
        "F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1
    ]

    private static func convert(
        _ source: UnsafeRawPointer, dtype: String, count: Int, into out: UnsafeMutablePointer<Float>
    ) {
        switch dtype {
        case "F32":
            for k in 0..<count {
                out[k] = Float(
                    bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))
            }
        case "F64":
            for k in 0..<count {
                out[k] = Float(
                    Double(
                        bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))))
            }
        case "BF16":
            for k in 0..<count {
                out[k] = Float(
                    bitPattern: UInt32(
                        UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) << 16)
            }
        case "F16":
            for k in 0..<count {
                out[k] = halfToFloat(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)))
            }
        // Integers (PyTorch's `num_batches_tracked` is I64, masks are BOOL or U8) become floats:
        // exact up to 2^24, which counters and ids of checkpoints stay below.
        case "I64":
            for k in 0..<count {
                out[k] = Float(Int64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * k, as: Int64.self)))
            }
        case "I32":
            for k in 0..<count {
                out[k] = Float(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * k, as: Int32.self)))
            }
        case "I16":
            for k in 0..<count {
                out[k] = Float(Int16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * k, as: Int16.self)))
            }
        case "I8":
            for k in 0..<count { out[k] = Float(source.load(fromByteOffset: k, as: Int8.self)) }
        case "U8", "BOOL":
            for k in 0..<count { out[k] = Float(source.load(fromByteOffset: k, as: UInt8.self)) }
        default:
            break
        }
    }

    /// IEEE 754 binary16 to binary32, including subnormals, infinities and NaN.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    /// Encodes tensors (in the given order) and metadata as a safetensors file: F32, or I64 for
    /// the names `dtypes` marks so (integer buffers, as PyTorch has them).
    public static func encode(
        _ tensors: [(String, Tensor)], metadata: [String: String] = [:],
        dtypes: [String: String] = [:]
    ) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in tensors {
            precondition(header[name] == nil, "tensor '\(name)' written twice")
            let dtype = dtypes[name] ?? "F32"
            precondition(dtype == "F32" || dtype == "I64", "writing dtype \(dtype) is not supported")
            let bytes = (dtype == "I64" ? 8 : 4) * tensor.count
            header[name] =
                ["dtype": dtype, "shape": tensor.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var headerData = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data starts 8-byte aligned, as the Python writer does.
        while (8 + headerData.count) % 8 != 0 { headerData.append(0x20) }
        var data = Data(capacity: 8 + headerData.count + offset)
        withUnsafeBytes(of: UInt64(headerData.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(headerData)
        for (name, tensor) in tensors {
            if dtypes[name] == "I64" {
                for k in 0..<tensor.count {
                    withUnsafeBytes(of: Int64(tensor.data[k].rounded()).littleEndian) { data.append(contentsOf: $0) }
                }
            } else {
                data.append(UnsafeBufferPointer(start: tensor.data, count: tensor.count))
            }
        }
        return data
    }

    /// Writes a safetensors file atomically.
    public static func write(
        _ tensors: [(String, Tensor)], metadata: [String: String] = [:],
        dtypes: [String: String] = [:], to path: String
    ) throws {
        try writeAtomically(try encode(tensors, metadata: metadata, dtypes: dtypes), to: path)
    }
}

extension ParameterStore {
    /// The parameters, then the buffers, as (name, tensor) pairs for `SafeTensors.write`.
    public var namedTensors: [(String, Tensor)] {
        parameters.map { ($0.name, $0.value) } + buffers.map { ($0.name, $0.value) }
    }

    /// The dtypes `SafeTensors.write` needs for the buffers that are not F32.
    public var namedDTypes: [String: String] {
        buffers.reduce(into: [:]) { if $1.dtype != "F32" { $0[$1.name] = $1.dtype } }
    }

    /// Copies every parameter from `file`. Strict, like PyTorch's `load_state_dict`: a missing
    /// tensor, an extra one or a shape that differs is an error naming the tensor and shapes.
    ///
    /// - aliases: names the file lists as a second view of another parameter (PyTorch saves a
    ///   tied output layer twice); they are accepted and skipped.
    public func load(_ file: SafeTensorsFile, path: String, aliases: Set<String> = []) throws {
        var file = file
        file.names.removeAll { aliases.contains($0) }
        for alias in aliases { file.tensors[alias] = nil }
        let named = namedTensors
        for (name, value) in named {
            guard let t = file.tensors[name] else { throw CheckpointError.missingTensor(path: path, name: name) }
            guard t.shape == value.shape else {
                throw CheckpointError.shapeMismatch(path: path, name: name, found: t.shape, expected: value.shape)
            }
        }
        let known = Set(named.map(\.0))
        if let extra = file.names.first(where: { !known.contains($0) }) {
            throw CheckpointError.unexpectedTensor(path: path, name: extra)
        }
        for (name, value) in named { value.copy(from: file.tensors[name]!) }
    }
}

/// A safetensors header: `__metadata__` (strings to strings) and one entry per tensor, each
/// field optional here so that a missing one is reported by name.
private struct Header: Decodable {
    struct Entry: Decodable {
        let dtype: String?
        let shape: [Int]?
        let offsets: [Int]?
        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case offsets = "data_offsets"
        }
    }

    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    var metadata: [String: String] = [:]
    var entries: [(name: String, entry: Entry)] = []

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                guard let strings = try? container.decode([String: String].self, forKey: key) else {
                    throw CheckpointError.malformed(path: "", reason: "__metadata__ must map strings to strings")
                }
                metadata = strings
            } else {
                guard let entry = try? container.decode(Entry.self, forKey: key) else {
                    throw CheckpointError.malformed(
                        path: "", reason: "tensor '\(key.stringValue)' lacks a dtype, shape or data_offsets")
                }
                entries.append((key.stringValue, entry))
            }
        }
    }
}

/// A JSON decoding error in a few words (what and where), not Foundation's debug dump.
func jsonErrorReason(_ error: Error) -> String {
    guard let decoding = error as? DecodingError else { return "\(error)" }
    switch decoding {
    case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context),
        .keyNotFound(_, let context):
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return context.debugDescription + (path.isEmpty ? "" : " at \(path)")
    @unknown default:
        return "\(error)"
    }
}

extension CheckpointError {
    /// The header's own errors are made before the file's path is at hand.
    fileprivate func naming(_ path: String) -> CheckpointError {
        if case .malformed(let empty, let reason) = self, empty.isEmpty {
            return .malformed(path: path, reason: reason)
        }
        return self
    }
}
