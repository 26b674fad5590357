// What the interop tests need besides samples: JSON comparison, protoc's text format, the tools.

import CoopTestKit
import CoopWire
import Foundation
import Testing

// MARK: - JSON comparison

/// Compares two JSON documents as values: object members by key (order and source lines ignored), arrays by
/// position, numbers by their text, strings exactly.
enum InteropJSONCompare {
    static func differences(python: JSONValue, swift: JSONValue, path: String = "$") -> [String] {
        switch (python, swift) {
        case (.object(let p), .object(let s)):
            var out: [String] = []
            let pKeys = p.map(\.key)
            let sKeys = s.map(\.key)
            if Set(pKeys).count != pKeys.count { out.append("\(path): duplicate keys in Python's JSON: \(pKeys)") }
            if Set(sKeys).count != sKeys.count { out.append("\(path): duplicate keys in Swift's JSON: \(sKeys)") }
            for key in Set(pKeys).union(sKeys).sorted() {
                let pv = python[key]
                let sv = swift[key]
                switch (pv, sv) {
                case (let pv?, let sv?): out += differences(python: pv, swift: sv, path: "\(path).\(key)")
                case (let pv?, nil): out.append("\(path).\(key): Python has \(render(pv)), Swift omits it")
                case (nil, let sv?): out.append("\(path).\(key): Swift has \(render(sv)), Python omits it")
                case (nil, nil): break
                }
            }
            return out
        case (.array(let p), .array(let s)):
            guard p.count == s.count else {
                return [
                    "\(path): Python has \(p.count) elements, Swift \(s.count): \(render(python)) vs \(render(swift))"
                ]
            }
            return zip(p, s).enumerated().flatMap { i, pair in
                differences(python: pair.0, swift: pair.1, path: "\(path)[\(i)]")
            }
        default:
            return python == swift ? [] : ["\(path): Python has \(render(python)), Swift has \(render(swift))"]
        }
    }

    static func render(_ value: JSONValue) -> String { JSONWriter.write(value, pretty: false) }
}

// MARK: - protoc text format

/// One line of `protoc --decode` output: a field path (nested names joined with ".") and its value.
struct ProtocTextField: Equatable, CustomStringConvertible {
    enum Value: Equatable {
        /// `name {` — a (possibly empty) submessage starts.
        case message
        /// An unquoted value: number, enum value name, true/false.
        case scalar(String)
        /// A quoted value, unescaped to its bytes.
        case bytes([UInt8])

        static func text(_ s: String) -> Value { .bytes(Array(s.utf8)) }
    }

    var path: String
    var value: Value

    init(_ path: String, _ value: Value) {
        self.path = path
        self.value = value
    }

    var description: String {
        switch value {
        case .message: "\(path) {"
        case .scalar(let s): "\(path): \(s)"
        case .bytes(let b):
            if let s = String(validating: b, as: UTF8.self) {
                "\(path): \"\(s)\""
            } else {
                "\(path): 0x\(interopHex(b))"
            }
        }
    }
}

enum ProtocTextFormat {
    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses protoc's text-format output (one field per line, two-space indentation).
    static func parse(_ text: String) throws -> [ProtocTextField] {
        var stack: [String] = []
        var out: [ProtocTextField] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line == "}" {
                guard stack.popLast() != nil else { throw ParseError(description: "unbalanced '}' in:\n\(text)") }
                continue
            }
            if line.hasSuffix(" {") {
                let name = String(line.dropLast(2))
                stack.append(name)
                out.append(ProtocTextField(stack.joined(separator: "."), .message))
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw ParseError(description: "unexpected line \(line.debugDescription)")
            }
            let name = String(line[..<colon])
            let rest = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let path = (stack + [name]).joined(separator: ".")
            if rest.hasPrefix("\"") {
                guard rest.count >= 2, rest.hasSuffix("\"") else {
                    throw ParseError(description: "unterminated string in \(line.debugDescription)")
                }
                out.append(ProtocTextField(path, .bytes(try unescape(Array(rest.utf8.dropFirst().dropLast())))))
            } else {
                out.append(ProtocTextField(path, .scalar(rest)))
            }
        }
        guard stack.isEmpty else { throw ParseError(description: "unclosed message \(stack) in:\n\(text)") }
        return out
    }

    /// Undoes protobuf's C escaping (`\n`, `\"`, `\\`, `\ooo` octal, `\xHH`).
    static func unescape(_ s: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        func isOctal(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x37 }
        while i < s.count {
            let c = s[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < s.count else { throw ParseError(description: "dangling backslash") }
            let e = s[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "v"): out.append(0x0b)
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "?"): out.append(e)
            case UInt8(ascii: "x"):
                var value = 0
                var digits = 0
                while digits < 2, i < s.count, let d = Int(String(UnicodeScalar(s[i])), radix: 16) {
                    value = value * 16 + d
                    i += 1
                    digits += 1
                }
                guard digits > 0 else { throw ParseError(description: "\\x without hex digits") }
                out.append(UInt8(value))
            case _ where isOctal(e):
                var value = Int(e - 0x30)
                var digits = 1
                while digits < 3, i < s.count, isOctal(s[i]) {
                    value = value * 8 + Int(s[i] - 0x30)
                    i += 1
                    digits += 1
                }
                guard value <= 0xff else { throw ParseError(description: "octal escape above \\377") }
                out.append(UInt8(value))
            default:
                throw ParseError(description: "unknown escape \\\(UnicodeScalar(e))")
            }
        }
        return out
    }

    /// How protoc's text format prints these UTF-8 bytes when all are non-ASCII: `\ooo` per byte.
    static func octalEscaped(_ bytes: [UInt8]) -> String {
        bytes.map { b in
            if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != UInt8(ascii: "'") {
                return String(UnicodeScalar(b))
            }
            let octal = String(b, radix: 8)
            return "\\" + String(repeating: "0", count: 3 - octal.count) + octal
        }.joined()
    }
}

/// Expects protoc's text output to hold exactly `expected`, in order.
func expectProtocFields(
    _ text: String,
    _ expected: [ProtocTextField],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let actual = try ProtocTextFormat.parse(text)
    let lines = actual.map(\.description).joined(separator: "\n")
    #expect(
        actual.count == expected.count,
        "protoc printed \(actual.count) fields, expected \(expected.count):\n\(lines)",
        sourceLocation: sourceLocation
    )
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        #expect(
            a == e,
            "field \(i): protoc printed \(a), expected \(e)\nprotoc output:\n\(text)",
            sourceLocation: sourceLocation
        )
    }
}

func interopHex(_ bytes: [UInt8]) -> String {
    bytes.map { b in
        let h = String(b, radix: 16)
        return h.count == 1 ? "0" + h : h
    }.joined()
}

// MARK: - Processes, tools, paths

enum InteropRepo {
    /// The package root, found from this file's path (Tests/CoopWireTests/InteropTests.swift).
    static let root = URL(fileURLWithPath: ChildProcess.repositoryRoot())
    static let script = root.appendingPathComponent("Tests/interop/wire_interop.py")
    static let protoDir = root.appendingPathComponent("proto")

    /// proto/coop/v1/*.proto, relative to proto/ (protoc's -I).
    static func protoFiles() throws -> [String] {
        let dir = protoDir.appendingPathComponent("coop/v1")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".proto") }
            .sorted()
        return names.map { "coop/v1/" + $0 }
    }
}

enum InteropTools {
    static let pythonHelp = """
        python3 with the google.protobuf package is required for the interop tests. \
        Install it with `pip install protobuf` (7.x; Python 3.11).
        """
    static let protocHelp = """
        protoc is required for the interop tests. \
        Install it with `apt-get install protobuf-compiler` (3.21 or later).
        """

    static func requirePython() throws {
        let result: ChildProcess.Result
        do {
            result = try run(["python3", "-c", "import google.protobuf"])
        } catch {
            Issue.record("\(pythonHelp)\ncould not run python3: \(error)")
            throw error
        }
        try #require(result.status == 0, "\(pythonHelp)\n\(result.stderr)")
        try requireProtoc()  // wire_interop.py compiles the schema with protoc
    }

    static func requireProtoc() throws {
        let result: ChildProcess.Result
        do {
            result = try run(["protoc", "--version"])
        } catch {
            Issue.record("\(protocHelp)\ncould not run protoc: \(error)")
            throw error
        }
        try #require(result.status == 0, "\(protocHelp)\n\(result.stderr)")
    }

    /// `protoc --decode=TYPE -Iproto proto/coop/v1/*.proto` with `bytes` on stdin; its text output.
    static func protocDecode(_ type: String, _ bytes: [UInt8]) throws -> String {
        let result = try run(
            ["protoc", "--decode=\(type)", "-I\(InteropRepo.protoDir.path)"] + InteropRepo.protoFiles(),
            stdin: bytes
        )
        try #require(result.status == 0, "protoc --decode=\(type) failed (\(result.status)): \(result.stderr)")
        try #require(result.stderr.isEmpty, "protoc --decode=\(type) warned: \(result.stderr)")
        return result.stdoutText
    }

    /// `protoc --encode=TYPE -Iproto proto/coop/v1/*.proto` with text format on stdin; the encoded bytes.
    static func protocEncode(_ type: String, _ text: String) throws -> [UInt8] {
        let result = try run(
            ["protoc", "--encode=\(type)", "-I\(InteropRepo.protoDir.path)"] + InteropRepo.protoFiles(),
            stdin: Array(text.utf8)
        )
        try #require(
            result.status == 0,
            "protoc --encode=\(type) failed (\(result.status)): \(result.stderr)\ninput:\n\(text)"
        )
        return result.stdout
    }

    /// Runs a program found on PATH (through /usr/bin/env) in the package root.
    static func run(_ arguments: [String], stdin: [UInt8] = []) throws -> ChildProcess.Result {
        try ChildProcess.run("/usr/bin/env", arguments, stdin: stdin, currentDirectory: InteropRepo.root.path)
    }
}

extension TemporaryDirectory {
    /// The directory as a file URL.
    var url: URL { URL(fileURLWithPath: path, isDirectory: true) }
}
