// swift-tools-version:6.0
// A package that uses RNN Zoo as a library, the way another project would: it depends on the
// repository by path, and each example imports one task's library alone (the two that train on a
// built-in demo set also import Datasets). CI builds and runs them:
//
//     swift run --package-path Examples/Library TinyLanguageModel
//     swift run --package-path Examples/Library TinyTranslation
//     swift run --package-path Examples/Library TinySpeechRecognition
//     swift run --package-path Examples/Library TinyCaptioning
//     mpirun -np 2 Examples/Library/.build/debug/TinyDataParallel   (after swift build)
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which is whatever the clone is called.
let zoo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../..").standardizedFileURL

let package = Package(
    name: "Library",
    dependencies: [.package(path: zoo.path)],
    targets: [
        .executableTarget(
            name: "TinyLanguageModel",
            dependencies: [.product(name: "LanguageModel", package: zoo.lastPathComponent)]),
        .executableTarget(
            name: "TinyTranslation",
            dependencies: [.product(name: "Translation", package: zoo.lastPathComponent)]),
        .executableTarget(
            name: "TinySpeechRecognition",
            dependencies: [
                .product(name: "SpeechRecognition", package: zoo.lastPathComponent),
                .product(name: "Datasets", package: zoo.lastPathComponent)
            ]),
        .executableTarget(
            name: "TinyDataParallel",
            dependencies: [
                .product(name: "LanguageModel", package: zoo.lastPathComponent),
                .product(name: "ZooMPI", package: zoo.lastPathComponent)
            ]),
        .executableTarget(
            name: "TinyCaptioning",
            dependencies: [
                .product(name: "ImageCaptioning", package: zoo.lastPathComponent),
                .product(name: "Datasets", package: zoo.lastPathComponent)
            ])
    ]
)
