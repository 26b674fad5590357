internal import CZeroMQ

/// CurveZMQ keys. Pure functions; thread-safe.
public enum ZMQCurve {
    /// A new long-term key pair (32-byte public and secret keys), from libzmq (libsodium).
    public static func keyPair() throws(ZMQError) -> (publicKey: [UInt8], secretKey: [UInt8]) {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        return (try decodeZ85(publicText), try decodeZ85(secretText))
    }

    /// The public key that belongs to a 32-byte secret key.
    public static func publicKey(secretKey: [UInt8]) throws(ZMQError) -> [UInt8] {
        guard secretKey.count == 32 else {
            throw ZMQError(code: .invalidArgument, message: "a CurveZMQ secret key is 32 bytes, not \(secretKey.count)")
        }
        var secretText = [CChar](repeating: 0, count: 41)
        var publicText = [CChar](repeating: 0, count: 41)
        _ = secretKey.withUnsafeBufferPointer { zmq_z85_encode(&secretText, $0.baseAddress, 32) }
        guard zmq_curve_public(&publicText, secretText) == 0 else { throw ZMQError.last("zmq_curve_public") }
        return try decodeZ85(publicText)
    }

    /// A key as Z85 text (40 characters), the form ZeroMQ tools print.
    public static func z85(_ key: [UInt8]) -> String {
        guard key.count == 32 else { return "" }
        var text = [CChar](repeating: 0, count: 41)
        _ = key.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, 32) }
        return String(decoding: text.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func decodeZ85(_ text: [CChar]) throws(ZMQError) -> [UInt8] {
        var key = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&key, text) != nil else {
            throw ZMQError(code: .invalidArgument, message: "not a Z85 key")
        }
        return key
    }
}
