// swift-tools-version:6.0
// RNN Zoo: recurrent networks trained and run on the CPU, from one command line.
import Foundation
import PackageDescription

let package = Package(
    name: "RNNZoo",
    products: [
        .library(name: "RNNEngine", targets: ["RNNEngine"]),
        .library(name: "EngineSupport", targets: ["EngineSupport"]),
        .library(name: "LanguageModel", targets: ["LanguageModel"]),
        .library(name: "Translation", targets: ["Translation"]),
        .library(name: "SpeechRecognition", targets: ["SpeechRecognition"]),
        .library(name: "ImageCaptioning", targets: ["ImageCaptioning"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "ZooMPI", targets: ["ZooMPI"]),
        .executable(name: "zoo", targets: ["zoo"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1")
    ],
    targets: [
        // C libraries from Debian, one module map and one shim header each.
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CSndFile", path: "Sources/CSndFile", pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(
            name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        .systemLibrary(
            name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]),

        // The engine's hand-written kernels: the recurrent matrix product and the cell steps
        // (AVX2/FMA chosen at run time, baseline code elsewhere).
        .target(name: "CKernels"),
        // libpng's full API for every PNG variant; its errors (long jumps) are caught in C.
        .target(name: "CPNGCodec", dependencies: ["CPNG"], linkerSettings: [.linkedLibrary("png16")]),
        .target(name: "RNNEngine", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "EngineSupport", dependencies: ["RNNEngine", "CPNG", "CPNGCodec"]),
        .target(name: "LanguageModel", dependencies: ["RNNEngine", "EngineSupport"]),
        .target(name: "Translation", dependencies: ["RNNEngine", "EngineSupport"]),
        // Shallow fusion takes any RNNEngine.PrefixScorer; the language model's is one, joined in the CLI.
        .target(name: "SpeechRecognition", dependencies: ["RNNEngine", "EngineSupport", "CSndFile"]),
        .target(name: "ImageCaptioning", dependencies: ["RNNEngine", "EngineSupport"]),
        // The built-in demo data sets (a text, an English–German grammar, espeak-ng speech,
        // drawn scenes): not part of the task libraries, so `import Translation` carries no grammar.
        .target(
            name: "Datasets", dependencies: ["LanguageModel", "Translation", "SpeechRecognition", "ImageCaptioning"]),
        // Data-parallel training over Open MPI: the engine's Communicator with MPI behind it.
        .target(name: "ZooMPI", dependencies: ["RNNEngine", "CMPI"]),
        // `zoo serve`: the four models as a web page and a JSON API. The only target that uses
        // Hummingbird, so the task libraries stay light.
        .target(
            name: "ZooServer",
            dependencies: [
                "RNNEngine", "EngineSupport", "LanguageModel", "Translation", "SpeechRecognition", "ImageCaptioning",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "MultipartKit", package: "multipart-kit")
            ],
            resources: [
                .embedInCode("Resources/index.html"), .embedInCode("Resources/app.js"),
                .embedInCode("Resources/style.css"), .embedInCode("Resources/openapi.json")
            ]),
        .target(
            name: "ZooCLI",
            dependencies: [
                "RNNEngine", "EngineSupport", "LanguageModel", "Translation", "SpeechRecognition", "ImageCaptioning",
                "Datasets", "ZooServer", "ZooMPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]),
        .executableTarget(name: "zoo", dependencies: ["ZooCLI"]),

        // What the test targets share (a per-test temporary directory).
        .target(name: "TestSupport", dependencies: ["RNNEngine"], path: "Tests/TestSupport"),
        .testTarget(
            name: "RNNEngineTests", dependencies: ["RNNEngine", "CKernels", "TestSupport"], exclude: ["Golden"]),
        .testTarget(
            name: "EngineSupportTests", dependencies: ["EngineSupport", "RNNEngine", "TestSupport"], exclude: ["Golden"]
        ),
        .testTarget(
            name: "LanguageModelTests", dependencies: ["LanguageModel", "RNNEngine", "TestSupport"], exclude: ["Golden"]
        ),
        // Each test target names RNNEngine itself: reached only through a task's @_exported
        // import, a change of an engine type's layout did not rebuild the tests that use it
        // (seen with TrainingOptions: a stale test binary overflowed its stack).
        .testTarget(
            name: "TranslationTests", dependencies: ["Translation", "Datasets", "RNNEngine", "TestSupport"],
            exclude: ["Golden"]),
        .testTarget(
            name: "SpeechRecognitionTests",
            dependencies: ["SpeechRecognition", "LanguageModel", "RNNEngine", "TestSupport"], exclude: ["Golden"]),
        .testTarget(
            name: "ImageCaptioningTests", dependencies: ["ImageCaptioning", "Datasets", "RNNEngine", "TestSupport"],
            exclude: ["Golden"]),
        .testTarget(name: "ZooCLITests", dependencies: ["ZooCLI", "RNNEngine", "EngineSupport", "TestSupport"]),
        .testTarget(
            name: "ZooServerTests",
            dependencies: [
                "ZooServer", "RNNEngine", "TestSupport", "Datasets",
                .product(name: "HummingbirdTesting", package: "hummingbird")
            ])
    ],
    swiftLanguageModes: [.v6]
)

// The fuzz targets (scripts/fuzz.sh): an executable whose main is libFuzzer's, so it exists only
// in the build that script makes (ZOO_FUZZ=1, -sanitize=fuzzer,address, its own build folder).
if ProcessInfo.processInfo.environment["ZOO_FUZZ"] == "1" {
    package.targets.append(
        .executableTarget(
            name: "ZooFuzz",
            dependencies: ["RNNEngine", "LanguageModel", "Translation", "SpeechRecognition", "ImageCaptioning"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
}
