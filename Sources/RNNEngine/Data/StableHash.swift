/// FNV-1a over the UTF-8 bytes of `text`: the same on every machine and in every run (Swift's
/// `hashValue` is seeded per process), for splitting data sets by a key.
public func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}
