import Foundation

/// Telling a real MPEG audio stream (MP3) from bytes that only start like one.
///
/// libsndfile tries MPEG last, for a file no other format claims, and takes it when the first
/// bytes look like a frame header. Headerless PCM (`.raw`) often does (the sample −1025 is the
/// bytes FF FB, an MPEG-1 Layer III sync), and libmpg123 then "decodes" the samples into noise
/// with an error on stderr for every frame. A real stream's frames follow each other: each
/// header's bitrate, sample rate and padding give the next header's offset.
enum MPEGSniffing {
    /// What the first bytes of a file say.
    enum Verdict: Equatable {
        /// Not MPEG at all (another format's header, or nothing libsndfile will take as MPEG).
        case notMPEG
        /// An ID3 tag, or frame headers that follow each other: an MPEG stream.
        case mpeg
        /// A frame sync at the start whose frames do not follow each other.
        case falseStart(String)
    }

    /// Frames whose headers must chain before the bytes count as MPEG.
    static let framesChecked = 3

    static func verdict(path: String) -> Verdict {
        guard let handle = FileHandle(forReadingAtPath: path) else { return .notMPEG }
        defer { try? handle.close() }
        // Three frames of the largest kind (Layer II at 384 kb/s, 32 kHz) fit in 16 KiB.
        let bytes = [UInt8]((try? handle.read(upToCount: 16_384)) ?? Data())
        return verdict(bytes)
    }

    static func verdict(_ bytes: [UInt8]) -> Verdict {
        if bytes.count >= 3 && bytes[0] == 0x49 && bytes[1] == 0x44 && bytes[2] == 0x33 { return .mpeg }  // "ID3"
        guard let first = FrameHeader(bytes, at: 0) else {
            return bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0
                ? .falseStart("it starts with an MPEG frame sync whose header is invalid") : .notMPEG
        }
        var offset = first.length
        for frame in 1..<framesChecked {
            if offset >= bytes.count {
                return bytes.count < 16_384 && offset == bytes.count
                    ? .mpeg
                    : .falseStart(
                        "its first MPEG frame header promises \(first.length)-byte frames, but the file ends at \(bytes.count) bytes"
                    )
            }
            guard let next = FrameHeader(bytes, at: offset), next.sameStream(as: first) else {
                return .falseStart(
                    "it starts like an MPEG frame, but frame \(frame + 1) is not at byte \(offset) where the first header puts it"
                )
            }
            offset += next.length
        }
        return .mpeg
    }

    /// An MPEG audio frame header (ISO 11172-3 / 13818-3): 11 sync bits, then version, layer,
    /// bitrate, sample rate and padding.
    struct FrameHeader {
        let version: Int  // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
        let layer: Int  // 1, 2 or 3
        let sampleRate: Int
        let length: Int

        init?(_ bytes: [UInt8], at offset: Int) {
            guard offset + 4 <= bytes.count, bytes[offset] == 0xFF, bytes[offset + 1] & 0xE0 == 0xE0 else { return nil }
            let b1 = Int(bytes[offset + 1]), b2 = Int(bytes[offset + 2])
            let version = (b1 >> 3) & 3, layerBits = (b1 >> 1) & 3
            let bitrateIndex = b2 >> 4, rateIndex = (b2 >> 2) & 3, padding = (b2 >> 1) & 1
            // Reserved values, free-format and "bad" bitrates are not a stream we can follow.
            guard version != 1, layerBits != 0, bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3 else {
                return nil
            }
            let layer = 4 - layerBits
            let mpeg1 = version == 3
            let kilobits: [Int]
            switch (mpeg1, layer) {
            case (true, 1): kilobits = [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448]
            case (true, 2): kilobits = [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384]
            case (true, _): kilobits = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
            case (false, 1): kilobits = [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256]
            case (false, _): kilobits = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
            }
            let baseRates = [44_100, 48_000, 32_000]
            let sampleRate = baseRates[rateIndex] / (mpeg1 ? 1 : version == 2 ? 2 : 4)
            let bitrate = kilobits[bitrateIndex - 1] * 1000
            switch layer {
            case 1: length = (12 * bitrate / sampleRate + padding) * 4
            case 3 where !mpeg1: length = 72 * bitrate / sampleRate + padding
            default: length = 144 * bitrate / sampleRate + padding
            }
            self.version = version
            self.layer = layer
            self.sampleRate = sampleRate
            guard length >= 4 else { return nil }
        }

        func sameStream(as other: FrameHeader) -> Bool {
            version == other.version && layer == other.layer && sampleRate == other.sampleRate
        }
    }
}
