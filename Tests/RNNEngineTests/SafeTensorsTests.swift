import Foundation
import TestSupport
import XCTest

@testable import RNNEngine

final class SafeTensorsTests: TemporaryDirectoryTestCase {
    func testRoundTripKeepsTensorsOrderAndMetadata() throws {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, -6.5])
        let b = Tensor(shape: [1], values: [.pi])
        let empty = Tensor(zeros: [0, 4])
        let path = directory + "/model.safetensors"
        try SafeTensors.write(
            [("z.first", a), ("a.second", b), ("empty", empty)],
            metadata: ["zoo.task": "language-model", "zoo.vocabulary": "[\"a\",\"\\n\"]"], to: path)
        let file = try SafeTensors.read(path: path)
        XCTAssertEqual(file.names, ["z.first", "a.second", "empty"])
        XCTAssertEqual(file.tensors["z.first"]?.shape, [2, 3])
        XCTAssertEqual(file.tensors["z.first"]?.array, a.array)
        XCTAssertEqual(file.tensors["a.second"]?.array, [.pi])
        XCTAssertEqual(file.tensors["empty"]?.shape, [0, 4])
        XCTAssertEqual(file.metadata["zoo.vocabulary"], "[\"a\",\"\\n\"]")
        // Data starts 8-byte aligned, as the Python writer makes it.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual((8 + headerLength) % 8, 0)
    }

    func testReadsPythonWrittenFileAndConvertsDTypes() throws {
        let path = goldenDirectory + "/python_dtypes.safetensors"
        let file = try SafeTensors.read(path: path)
        XCTAssertEqual(file.metadata["zoo.task"], "test")
        let expected: [Float] = [0.5, -1.25, 3.0, 1e-3, -65504.0, Float(pow(2.0, -20.0))]
        assertClose(try XCTUnwrap(file.tensors["f32"]), Tensor(shape: [2, 3], values: expected), "f32")
        assertClose(try XCTUnwrap(file.tensors["f64"]), Tensor(shape: [2, 3], values: expected), "f64")
        assertClose(try XCTUnwrap(file.tensors["f16"]), Tensor(shape: [2, 3], values: expected), relative: 1e-3, "f16")
        assertClose(
            try XCTUnwrap(file.tensors["bf16"]), Tensor(shape: [2, 3], values: expected), relative: 1e-2, "bf16")
        // The integer and boolean dtypes PyTorch writes (num_batches_tracked is I64).
        XCTAssertEqual(file.tensors["i64"]?.array, [0, 1, 2])
        XCTAssertEqual(file.tensors["i32"]?.array, [-2, 0, 7])
        XCTAssertEqual(file.tensors["u8"]?.array, [0, 200, 255])
        XCTAssertEqual(file.tensors["bool"]?.array, [1, 0, 1])
        // A dtype the engine does not know is named in the error.
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let known = Data(#""dtype":"U8""#.utf8), unknown = Data(#""dtype":"X8""#.utf8)
        let range = try XCTUnwrap(data.range(of: known))
        data.replaceSubrange(range, with: unknown)
        XCTAssertThrowsError(try SafeTensors.decode(data, path: path)) { error in
            XCTAssertEqual(error as? CheckpointError, .unsupportedDType(path: path, name: "u8", dtype: "X8"))
        }
    }

    /// Every string a checkpoint stores comes back byte for byte: JSONSerialization dropped a
    /// U+FEFF that begins a string, and a vocabulary with "\u{FEFF}HTTP-Proxy" and "HTTP-Proxy"
    /// came back with a duplicate, so a finished run's checkpoint did not load.
    func testEveryStringRoundTripsByteForByte() throws {
        let strings = [
            "\u{FEFF}HTTP-Proxy", "HTTP-Proxy", "\u{FEFF}", "a\u{FEFF}", "👩\u{200D}💻", "zwnj\u{200C}x",
            "non\u{00A0}breaking", "e\u{0301}", "\u{05E9}\u{05DC}\u{05D5}\u{05DD}\u{200F}", "\u{200E}ltr",
            "/path\\quote\"",
            "tab\tnewline\n", "\u{0}nul"
        ]
        let vocabulary = Vocabulary(tokens: strings)
        XCTAssertEqual(vocabulary.count, strings.count)
        var metadata = ["zoo.vocabulary": vocabulary.json]
        for (k, text) in strings.enumerated() { metadata["string.\(k)"] = text }
        let path = directory + "/strings.safetensors"
        try SafeTensors.write([("w", Tensor(shape: [1], values: [1]))], metadata: metadata, to: path)
        let file = try SafeTensors.read(path: path)
        for (k, text) in strings.enumerated() {
            XCTAssertEqual(file.metadata["string.\(k)"].map { Array($0.utf8) }, Array(text.utf8), "string \(k)")
        }
        let back = try Vocabulary(json: try XCTUnwrap(file.metadata["zoo.vocabulary"]), path: path)
        XCTAssertEqual(back.tokens.map { Array($0.utf8) }, strings.map { Array($0.utf8) })
        // A lone surrogate is no Unicode text: refused, naming the file and key.
        XCTAssertThrowsError(try Vocabulary(json: #"["a", "\ud800"]"#, path: path)) {
            XCTAssertTrue("\($0)".contains(path) && "\($0)".contains("zoo.vocabulary"), "\($0)")
        }
        XCTAssertEqual(TextFile.removingByteOrderMarks("\u{FEFF}HTTP-\u{FEFF}Proxy\u{200D}"), "HTTP-Proxy\u{200D}")
    }

    /// An empty file reads as no bytes without Foundation's read (which leaks its buffer on
    /// one: the fuzzers' first finding); a missing one as nil.
    func testTextFileBytesOfEmptyAndMissingFiles() throws {
        let empty = directory + "/empty.txt"
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        XCTAssertEqual(TextFile.bytes(atPath: empty), Data())
        XCTAssertNil(TextFile.bytes(atPath: directory + "/missing.txt"))
        XCTAssertEqual(TextFile.bytes(atPath: repositoryPath("Tests/Fuzz/Seeds/bpe/merges.json"))?.isEmpty, false)
    }

    /// A file of `header` and `dataBytes` zero bytes.
    private func file(header: String, dataBytes: Int) -> Data {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: dataBytes))
        return data
    }

    /// A shape whose element count overflows, or tensors that share bytes: a malformed file,
    /// not a crash.
    func testHostileShapesAndOffsetsAreMalformed() throws {
        let huge = file(
            header: #"{"w":{"dtype":"F32","shape":[8589934592,8589934592],"data_offsets":[0,4]}}"#, dataBytes: 4)
        XCTAssertThrowsError(try SafeTensors.decode(huge, path: "huge.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("needs more bytes than a file can hold"), "\(error)")
        }
        let overlapping = file(
            header:
                #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            dataBytes: 12)
        XCTAssertThrowsError(try SafeTensors.decode(overlapping, path: "overlap.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("tensors 'a' [0, 8] and 'b' [4, 12] overlap"), "\(error)")
        }
        let beyondInt = file(
            header: #"{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}"#, dataBytes: 4)
        XCTAssertThrowsError(try SafeTensors.decode(beyondInt, path: "huge.safetensors"))
    }

    func testMalformedFilesGiveClearErrors() throws {
        let good = try SafeTensors.encode([("w", Tensor(shape: [4], values: [1, 2, 3, 4]))])
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("truncated header length", Data([1, 2, 3])),
            ("header longer than file", Data([255, 255, 0, 0, 0, 0, 0, 0]) + Data("{}".utf8)),
            ("not JSON", Data([4, 0, 0, 0, 0, 0, 0, 0]) + Data("abcd".utf8)),
            ("truncated data", good.prefix(good.count - 3)),
            ("bad offsets", try header(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,64]}}"#, dataBytes: 16)),
            ("size mismatch", try header(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, dataBytes: 16)),
            ("missing shape", try header(#"{"w":{"dtype":"F32","data_offsets":[0,16]}}"#, dataBytes: 16)),
            ("bad metadata", try header(#"{"__metadata__":{"a":1}}"#, dataBytes: 0))
        ]
        for (label, bytes) in cases {
            let path = directory + "/\(label).safetensors"
            try bytes.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try SafeTensors.read(path: path), label) { error in
                guard case .malformed(let errorPath, _)? = error as? CheckpointError else {
                    return XCTFail("\(label): unexpected error \(error)")
                }
                XCTAssertEqual(errorPath, path)
            }
        }
        XCTAssertThrowsError(try SafeTensors.read(path: directory + "/missing.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("missing.safetensors"))
            XCTAssertTrue("\(error)".contains("no such file"))
        }
    }

    private func header(_ json: String, dataBytes: Int) throws -> Data {
        let h = Data(json.utf8)
        return withUnsafeBytes(of: UInt64(h.count).littleEndian) { Data($0) } + h + Data(count: dataBytes)
    }

    func testStrictLoadNamesTensorAndShapes() throws {
        var rng = RandomGenerator(seed: 1)
        let store = ParameterStore()
        _ = Linear(inputSize: 3, outputSize: 2, name: "decoder", store: store, rng: &rng)
        store.pack()
        let path = directory + "/ckpt.safetensors"

        try SafeTensors.write(
            [("decoder.weight", Tensor(zeros: [2, 4])), ("decoder.bias", Tensor(zeros: [2]))], to: path)
        XCTAssertThrowsError(try store.load(try SafeTensors.read(path: path), path: path)) { error in
            XCTAssertEqual(
                "\(error)", "\(path): tensor 'decoder.weight' has shape [2, 4] in the file but the model expects [2, 3]"
            )
        }
        try SafeTensors.write([("decoder.weight", Tensor(zeros: [2, 3]))], to: path)
        XCTAssertThrowsError(try store.load(try SafeTensors.read(path: path), path: path)) { error in
            XCTAssertEqual(error as? CheckpointError, .missingTensor(path: path, name: "decoder.bias"))
        }
        try SafeTensors.write(
            [
                ("decoder.weight", Tensor(zeros: [2, 3])), ("decoder.bias", Tensor(zeros: [2])),
                ("encoder.weight", Tensor(zeros: [1]))
            ], to: path)
        XCTAssertThrowsError(try store.load(try SafeTensors.read(path: path), path: path)) { error in
            XCTAssertEqual(error as? CheckpointError, .unexpectedTensor(path: path, name: "encoder.weight"))
        }
        let values = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        try SafeTensors.write(
            [("decoder.weight", values), ("decoder.bias", Tensor(shape: [2], values: [7, 8]))], to: path)
        try store.load(try SafeTensors.read(path: path), path: path)
        XCTAssertEqual(store.values.array, [1, 2, 3, 4, 5, 6, 7, 8])
    }

    func testAtomicWriteLeavesNoTemporaryAndKeepsOldFileOnFailure() throws {
        let path = directory + "/best.safetensors"
        try SafeTensors.write([("a", Tensor(shape: [1], values: [1]))], to: path)
        try SafeTensors.write([("a", Tensor(shape: [1], values: [2]))], to: path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["best.safetensors"])
        XCTAssertEqual(try SafeTensors.read(path: path).tensors["a"]?.array, [2])
        XCTAssertThrowsError(try SafeTensors.write([], to: directory + "/no/such/dir/x.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("does not exist"))
        }
    }

    func testOptimizerStateResumesExactly() throws {
        func makeModel() -> (ParameterStore, Adam) {
            let store = ParameterStore()
            var rng = RandomGenerator(seed: 3)
            _ = Linear(inputSize: 4, outputSize: 3, name: "fc", store: store, rng: &rng)
            store.pack()
            return (store, Adam(store: store, learningRate: 0.05))
        }
        func gradientStep(_ store: ParameterStore, _ optimizer: Optimizer, _ k: Int) {
            for i in 0..<store.gradients.count { store.gradients[i] = sin(Float(i * 7 + k)) }
            optimizer.step()
        }
        let (reference, referenceOptimizer) = makeModel()
        for k in 0..<6 { gradientStep(reference, referenceOptimizer, k) }

        let (first, firstOptimizer) = makeModel()
        for k in 0..<3 { gradientStep(first, firstOptimizer, k) }
        let model = directory + "/m.safetensors"
        try SafeTensors.write(first.namedTensors, to: model)
        try OptimizerCheckpoint.save(firstOptimizer, to: OptimizerCheckpoint.path(besideCheckpoint: model))

        let (resumed, resumedOptimizer) = makeModel()
        try resumed.load(try SafeTensors.read(path: model), path: model)
        try OptimizerCheckpoint.load(into: resumedOptimizer, from: directory + "/m.optimizer.safetensors")
        XCTAssertEqual(resumedOptimizer.stepCount, 3)
        for k in 3..<6 { gradientStep(resumed, resumedOptimizer, k) }
        XCTAssertEqual(resumed.values.array, reference.values.array, "bit-identical after resume")
    }
}
