/// The version of RNN Zoo, printed by `zoo info` and written into checkpoints.
public let zooVersion = "0.1.0"
