import EngineSupport
import Foundation
import RNNEngine
import TestSupport
import XCTest

/// `zoo data/train/eval captioning` and `zoo caption`, run as a user would.
final class CaptioningCommandTests: TemporaryDirectoryTestCase {
    func testDataDryRunCaptionEvaluateAndAttentionMap() throws {
        let data = directory + "/data"
        let written = try zoo(["data", "captioning", "--out", data, "--images", "60"])
        XCTAssertEqual(written.status, 0, written.stderr)
        XCTAssertEqual(written.stdout.split(separator: "\n").count, 3)
        let again = try zoo(["data", "captioning", "--out", data, "--images", "60"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("already exists"), again.stderr)

        // A dry run checks the real model's settings too: its tiny encoder would take 30 pixels.
        let odd = try zoo([
            "train", "captioning", "--data", data, "--dry-run", "--out", directory + "/odd", "--image-size", "30"
        ])
        XCTAssertNotEqual(odd.status, 0)
        XCTAssertTrue(odd.stderr.contains("--image-size 30 must be a multiple of 8"), odd.stderr)

        let run = directory + "/run"
        let train = try zoo(["train", "captioning", "--data", data, "--dry-run", "--out", run])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("test (beam 3): BLEU-4"), train.stdout)
        let checkpoint = run + "/best.safetensors"
        // Progress reports the cross-entropy per token (what validation's loss is) and the
        // attention penalty apart; the sum of the two read like a loss that never fell.
        let log = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").compactMap
        {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let progress = try XCTUnwrap(log.first { $0["train_loss"] != nil })
        let validation = try XCTUnwrap(log.first { $0["valid_loss"] != nil })
        let trainLoss = try XCTUnwrap(progress["train_loss"] as? Double),
            validLoss = try XCTUnwrap(validation["valid_loss"] as? Double)
        XCTAssertGreaterThan(try XCTUnwrap(progress["train_penalty"] as? Double), 0, "\(progress)")
        // The log keeps 6 digits.
        XCTAssertEqual(try XCTUnwrap(progress["train_ppl"] as? Double), exp(trainLoss), accuracy: 1e-3 * exp(trainLoss))
        XCTAssertLessThan(
            abs(trainLoss - validLoss), 0.5,
            "training \(trainLoss) and validation \(validLoss) cross-entropy, 3 steps in")
        XCTAssertTrue(train.stdout.contains("| penalty "), train.stdout)

        let map = directory + "/map.png"
        let images = [data + "/images/test/0.png", data + "/images/test/1.png"]
        let caption = try zoo(["caption", "--checkpoint", checkpoint, "--beam", "2", "--attention-map", map] + images)
        XCTAssertEqual(caption.status, 0, caption.stderr)
        XCTAssertEqual(caption.stdout.split(separator: "\n").count, 2, caption.stdout)
        XCTAssertTrue(caption.stdout.hasPrefix(images[0] + "\t"), caption.stdout)
        for k in 1...2 { XCTAssertGreaterThan(try RGBImage(pngFile: directory + "/map-\(k).png").width, 100) }

        let evaluate = try zoo([
            "eval", "captioning", "--checkpoint", checkpoint, "--data", data, "--beam", "1", "--limit", "4", "--json"
        ])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        for key in ["bleu1", "bleu2", "bleu3", "bleu4", "cider", "images"] { XCTAssertNotNil(object[key], key) }
        XCTAssertEqual(object["images"] as? Int, 4)

        // A damaged image is named, never a crash.
        let broken = directory + "/broken.png"
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0]).write(to: URL(fileURLWithPath: broken))
        let bad = try zoo(["caption", "--checkpoint", checkpoint, broken])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("broken.png"), bad.stderr)
    }
}
