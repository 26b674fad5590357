#!/usr/bin/env python3
"""Generates CoopWire's Swift value types and CCoopProto's registry from a descriptor set.

Input: a FileDescriptorSet written by `protoc --include_imports --include_source_info`.
Output:
  <swift-dir>/<file>.pb.swift   one Swift file per .proto: value types + protobuf-c conversions
  <c-dir>/coop_registry.c       arrays of every message and service descriptor, the streaming
                                methods and the descriptor set itself (served by reflection)
  <c-dir>/include/coop_registry.h

Run through scripts/generate-proto.sh, never by hand.
"""
import re
import sys
from google.protobuf import descriptor_pb2 as d

T = d.FieldDescriptorProto
SWIFT_KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
    "inout", "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows", "static",
    "struct", "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do",
    "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while",
    "as", "Any", "catch", "false", "is", "nil", "super", "self", "Self", "throw", "throws", "true", "try",
    "Type", "Protocol",
}
SCALARS = {
    T.TYPE_DOUBLE: ("Double", "0"), T.TYPE_FLOAT: ("Float", "0"),
    T.TYPE_INT64: ("Int64", "0"), T.TYPE_UINT64: ("UInt64", "0"), T.TYPE_INT32: ("Int32", "0"),
    T.TYPE_FIXED64: ("UInt64", "0"), T.TYPE_FIXED32: ("UInt32", "0"), T.TYPE_UINT32: ("UInt32", "0"),
    T.TYPE_SFIXED32: ("Int32", "0"), T.TYPE_SFIXED64: ("Int64", "0"), T.TYPE_SINT32: ("Int32", "0"),
    T.TYPE_SINT64: ("Int64", "0"),
}


def camel(name, upper=False):
    parts = name.split("_")
    out = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    if upper:
        out = out[:1].upper() + out[1:]
    return out


def ident(name):
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def c_lower(full):
    # protoc-c: "coop.v1.EntryBody" -> "coop__v1__entry_body"
    out = []
    for part in full.split("."):
        out.append(re.sub(r"(?<!^)([A-Z])", r"_\1", part).lower())
    return "__".join(out)


def c_type(full):
    # "coop.v1.EntryBody" -> "Coop__V1__EntryBody"
    return "__".join(p[:1].upper() + p[1:] for p in full.split("."))


def comments(loc_map, path, indent):
    loc = loc_map.get(tuple(path))
    if not loc or not loc.leading_comments.strip():
        return ""
    lines = [ln.strip() for ln in loc.leading_comments.strip("\n").split("\n")]
    return "".join(f"{indent}/// {ln}".rstrip() + "\n" for ln in lines)


class Gen:
    def __init__(self, fds):
        self.fds = fds
        self.enums = {}
        self.messages = {}
        for f in fds.file:
            for e in f.enum_type:
                self.enums[f".{f.package}.{e.name}"] = e
            for m in f.message_type:
                if m.nested_type or m.enum_type:
                    sys.exit(f"{m.name}: nested types are not supported; declare them at top level")
                self.messages[f".{f.package}.{m.name}"] = m

    @staticmethod
    def short(full):
        return full.rsplit(".", 1)[1]

    def enum_case(self, enum, value):
        prefix = re.sub(r"(?<!^)([A-Z])", r"_\1", enum.name).upper() + "_"
        name = value.name[len(prefix):] if value.name.startswith(prefix) else value.name
        return ident(camel(name.lower()))

    def swift_type(self, f):
        if f.type in SCALARS:
            return SCALARS[f.type][0]
        if f.type == T.TYPE_BOOL:
            return "Bool"
        if f.type == T.TYPE_STRING:
            return "String"
        if f.type == T.TYPE_BYTES:
            return "[UInt8]"
        return self.short(f.type_name)

    def default(self, f):
        if f.label == T.LABEL_REPEATED:
            return "[]"
        if f.type == T.TYPE_MESSAGE:
            return "nil"
        if f.type in SCALARS:
            return SCALARS[f.type][1]
        return {T.TYPE_BOOL: "false", T.TYPE_STRING: '""', T.TYPE_BYTES: "[]"}.get(f.type, ".unspecifiedOrZero")

    # -- conversions -------------------------------------------------------------------------
    def decode_value(self, f, expr, path):
        """Swift expression turning the C value `expr` into the Swift value (may throw)."""
        t = f.type
        if t in SCALARS:
            return expr
        if t == T.TYPE_BOOL:
            return f"({expr} != 0)"
        if t == T.TYPE_STRING:
            return f'try CConvert.string({expr}, field: "{path}")'
        if t == T.TYPE_BYTES:
            return f"CConvert.bytes({expr})"
        if t == T.TYPE_ENUM:
            return f'try CConvert.enumeration({expr}.rawValue, as: {self.short(f.type_name)}.self, field: "{path}")'
        if t == T.TYPE_MESSAGE:
            return f"try {self.short(f.type_name)}(c: {expr})"
        raise SystemExit(f"unsupported type {t} in {path}")

    def encode_value(self, f, expr):
        """C value from the Swift value `expr`."""
        t = f.type
        if t in SCALARS:
            return expr
        if t == T.TYPE_BOOL:
            return f"({expr} ? 1 : 0)"
        if t == T.TYPE_STRING:
            return f"arena.string({expr})"
        if t == T.TYPE_BYTES:
            return f"arena.bytes({expr})"
        if t == T.TYPE_ENUM:
            return f"{c_type(f.type_name[1:])}(rawValue: .init(truncatingIfNeeded: {expr}.rawValue))"
        if t == T.TYPE_MESSAGE:
            return f"arena.message({expr})"
        raise SystemExit(f"unsupported type {t}")

    def is_zero_check(self, f, expr):
        t = f.type
        if t == T.TYPE_STRING or t == T.TYPE_BYTES:
            return f"!{expr}.isEmpty"
        if t == T.TYPE_BOOL:
            return expr
        if t == T.TYPE_ENUM:
            return f"{expr}.rawValue != 0"
        return f"{expr} != 0"

    # -- emit -------------------------------------------------------------------------------
    def gen_enum(self, e, full, loc, path):
        out = comments(loc, path, "")
        out += f"public enum {e.name}: Int32, Sendable, Hashable, CaseIterable {{\n"
        for i, v in enumerate(e.value):
            out += comments(loc, path + [2, i], "    ")
            out += f"    case {self.enum_case(e, v)} = {v.number}\n"
        out += "\n    /// The value's name in the `.proto` file, as the JSON mapping writes it.\n"
        out += "    public var protoValueName: String {\n        switch self {\n"
        for v in e.value:
            out += f'        case .{self.enum_case(e, v).strip("`")}: "{v.name}"\n'
        out += "        }\n    }\n}\n\n"
        out += f"extension {e.name}: WireEnum {{\n"
        out += f'    public static let protoName = "{full}"\n}}\n'
        return out

    def gen_message(self, m, full, loc, path):
        ct = c_type(full)
        cl = c_lower(full)
        oneofs = {}
        for f in m.field:
            if f.HasField("oneof_index"):
                oneofs.setdefault(f.oneof_index, []).append(f)
        out = comments(loc, path, "")
        out += f"public struct {m.name}: Sendable, Hashable {{\n"
        params = []
        for i, f in enumerate(m.field):
            if f.HasField("oneof_index"):
                continue
            name = ident(camel(f.name))
            ty = self.swift_type(f)
            if f.label == T.LABEL_REPEATED:
                ty = f"[{ty}]"
            elif f.type == T.TYPE_MESSAGE:
                ty = f"{ty}?"
            dflt = self.default(f)
            if dflt == ".unspecifiedOrZero":
                enum = self.enums[f.type_name]
                dflt = "." + self.enum_case(enum, enum.value[0]).strip("`")
            out += comments(loc, path + [2, i], "    ")
            out += f"    public var {name}: {ty} = {dflt}\n"
            params.append((name, ty, dflt))
        for idx, fields in oneofs.items():
            oname = m.oneof_decl[idx].name
            tname = camel(oname, upper=True)
            out += f"    /// The `{oname}` oneof: at most one of its cases is set.\n"
            out += f"    public var {ident(camel(oname))}: {tname}? = nil\n"
            params.append((ident(camel(oname)), f"{tname}?", "nil"))
        for idx, fields in oneofs.items():
            oname = m.oneof_decl[idx].name
            tname = camel(oname, upper=True)
            out += f"\n    /// The cases of the `{oname}` oneof.\n"
            out += f"    public enum {tname}: Sendable, Hashable {{\n"
            for f in fields:
                i = list(m.field).index(f)
                out += comments(loc, path + [2, i], "        ")
                out += f"        case {ident(camel(f.name))}({self.swift_type(f)})\n"
            out += "    }\n"
        out += "\n    /// Creates a message with every field at its zero value.\n"
        out += "    public init() {}\n"
        if params:
            out += "\n    /// Creates a message; fields not given stay at their zero value.\n"
            out += "    public init(\n"
            out += ",\n".join(f"        {n}: {t} = {dv}" for n, t, dv in params)
            out += "\n    ) {\n"
            for n, _, _ in params:
                out += f"        self.{n.strip('`')} = {n}\n"
            out += "    }\n"
        out += "}\n\n"

        # -- C conversion ---------------------------------------------------------------------
        out += f"extension {m.name}: WireMessage, CBacked {{\n"
        out += f'    public static let protoName = "{full}"\n'
        out += f"    typealias CType = {ct}\n\n"
        out += f"    static func cInit(_ c: UnsafeMutablePointer<{ct}>) {{ {cl}__init(c) }}\n"
        out += f"    static func cPackedSize(_ c: UnsafePointer<{ct}>) -> Int {{ {cl}__get_packed_size(c) }}\n"
        out += f"    static func cPack(_ c: UnsafePointer<{ct}>, _ out: UnsafeMutablePointer<UInt8>) -> Int {{\n"
        out += f"        {cl}__pack(c, out)\n    }}\n"
        out += f"    static func cUnpack(_ count: Int, _ bytes: UnsafePointer<UInt8>) -> UnsafeMutablePointer<{ct}>? {{\n"
        out += f"        {cl}__unpack(nil, count, bytes)\n    }}\n"
        out += f"    static func cFree(_ c: UnsafeMutablePointer<{ct}>) {{ {cl}__free_unpacked(c, nil) }}\n\n"
        out += f"    public init(wireBytes bytes: UnsafeRawBufferPointer) throws {{\n"
        out += "        self = try WireCodec.decode(Self.self, from: bytes)\n    }\n\n"
        out += "    public func wireBytes() -> [UInt8] { WireCodec.encode(self) }\n\n"

        # init(c:)
        out += f"    init(c: UnsafePointer<{ct}>) throws {{\n"
        lines = []
        for f in m.field:
            fp = f"{full}.{f.name}"
            cf = f"c.pointee.{f.name}"
            if f.HasField("oneof_index"):
                continue
            name = camel(f.name)
            if f.label == T.LABEL_REPEATED:
                elem = self.decode_value(f, "$0", fp)
                if f.type == T.TYPE_MESSAGE:
                    elem = f"try {self.short(f.type_name)}(c: $0!)"
                lines.append(
                    f"self.{name} = try CConvert.repeated({cf}, count: c.pointee.n_{f.name}) {{ "
                    f"(v) throws in {elem.replace('$0', 'v')} }}")
            elif f.type == T.TYPE_MESSAGE:
                lines.append(f"if let p = {cf} {{ self.{name} = try {self.short(f.type_name)}(c: p) }}")
            else:
                lines.append(f"self.{name} = {self.decode_value(f, cf, fp)}")
        for idx, fields in oneofs.items():
            oname = m.oneof_decl[idx].name
            tname = camel(oname, upper=True)
            lines.append(f"switch c.pointee.{oname}_case.rawValue {{")
            for f in fields:
                fp = f"{full}.{f.name}"
                cf = f"c.pointee.{f.name}"
                if f.type == T.TYPE_MESSAGE:
                    val = f"try {self.short(f.type_name)}(c: {cf}!)"
                else:
                    val = self.decode_value(f, cf, fp)
                lines.append(f"case {f.number}: self.{camel(oname)} = .{camel(f.name)}({val})")
            lines.append(f"default: self.{camel(oname)} = nil")
            lines.append("}")
        for ln in lines:
            out += f"        {ln}\n"
        out += "    }\n\n"

        # fill(_:arena:)
        out += f"    func fill(_ c: UnsafeMutablePointer<{ct}>, arena: Arena) {{\n"
        lines = []
        for f in m.field:
            if f.HasField("oneof_index"):
                continue
            name = ident(camel(f.name))
            cf = f"c.pointee.{f.name}"
            if f.label == T.LABEL_REPEATED:
                lines.append(f"if !self.{name}.isEmpty {{")
                lines.append(f"    c.pointee.n_{f.name} = self.{name}.count")
                enc = self.encode_value(f, '$0')
                if f.type in (T.TYPE_STRING, T.TYPE_MESSAGE):
                    enc = f"Optional({enc})"
                lines.append(f"    {cf} = arena.array(self.{name}) {{ {enc} }}")
                lines.append("}")
            elif f.type == T.TYPE_MESSAGE:
                lines.append(f"if let v = self.{name} {{ {cf} = {self.encode_value(f, 'v')} }}")
            else:
                lines.append(f"if {self.is_zero_check(f, 'self.' + name)} {{ {cf} = {self.encode_value(f, 'self.' + name)} }}")
        for idx, fields in oneofs.items():
            oname = m.oneof_decl[idx].name
            ctname = f"{ct}__{camel(oname, upper=True)}Case"
            lines.append(f"switch self.{ident(camel(oname))} {{")
            lines.append("case nil: break")
            for f in fields:
                lines.append(f"case .{camel(f.name)}(let v):")
                lines.append(f"    c.pointee.{oname}_case = {ctname}(rawValue: {f.number})")
                lines.append(f"    c.pointee.{f.name} = {self.encode_value(f, 'v')}")
            lines.append("}")
        for ln in lines:
            out += f"        {ln}\n"
        out += "    }\n}\n"
        return out

    def gen_file(self, f):
        loc = {tuple(l.path): l for l in f.source_code_info.location}
        out = "// Generated by scripts/gen_swift.py from proto/" + f.name + ". Do not edit.\n\n"
        out += "internal import CCoopProto\n\n"
        chunks = []
        for i, e in enumerate(f.enum_type):
            chunks.append(self.gen_enum(e, f"{f.package}.{e.name}", loc, [5, i]))
        for i, m in enumerate(f.message_type):
            chunks.append(self.gen_message(m, f"{f.package}.{m.name}", loc, [4, i]))
        return out + "\n".join(chunks)

    def gen_services(self, f):
        """Swift server protocol, typed client and method descriptors for each service of `f` (CoopServices)."""
        loc = {tuple(l.path): l for l in f.source_code_info.location}
        out = "// Generated by scripts/gen_swift.py from proto/" + f.name + ". Do not edit.\n\n"
        out += "public import CoopRPC\npublic import CoopWire\n"
        for si, svc in enumerate(f.service):
            full = f"{f.package}.{svc.name}"
            ns = f"{svc.name}Service"
            doc = comments(loc, [6, si], "")
            out += "\n" + (doc or f"/// The `{full}` service.\n")
            out += f"///\n/// Generated from `proto/{f.name}`; the method names and types match protoc-c's service descriptor\n"
            out += f"/// (`MessageRegistry.services`), which a test checks.\n"
            out += f"public enum {ns} {{\n"
            out += f"    /// Full service name.\n    public static let name = \"{full}\"\n\n"
            out += "    /// The service's methods.\n    public enum Method {\n"
            for mi, m in enumerate(svc.method):
                if m.client_streaming:
                    sys.exit(f"{full}/{m.name}: client streaming is not supported")
                level = m.options.idempotency_level
                idem = "true" if level in (1, 2) else "false"  # NO_SIDE_EFFECTS, IDEMPOTENT
                out += comments(loc, [6, si, 2, mi], "        ")
                out += f"        public static let {ident(camel(m.name[:1].lower() + m.name[1:]))} = RPCMethodDescriptor(\n"
                out += f"            service: \"{full}\",\n            method: \"{m.name}\",\n"
                out += f"            inputType: \"{m.input_type[1:]}\",\n            outputType: \"{m.output_type[1:]}\",\n"
                out += f"            isServerStreaming: {'true' if m.server_streaming else 'false'},\n"
                out += f"            isIdempotent: {idem}\n        )\n"
            names = ", ".join(ident(camel(m.name[:1].lower() + m.name[1:])) for m in svc.method)
            out += f"\n        /// Every method, in `.proto` order.\n        public static let all: [RPCMethodDescriptor] = [{names}]\n"
            out += "    }\n\n"
            # Server protocol.
            out += f"    /// What a server of `{full}` implements: one `async` function per method, of typed messages.\n"
            out += "    ///\n    /// **Threading.** Methods are called concurrently, one task per call, and must honour task cancellation\n"
            out += "    /// (the deadline passed or the client cancelled). Throw an `RPCError` to answer with its status; any other\n"
            out += "    /// error is answered INTERNAL.\n"
            out += "    public protocol Handler: Sendable {\n"
            for mi, m in enumerate(svc.method):
                fn = ident(camel(m.name[:1].lower() + m.name[1:]))
                req, res = self.short(m.input_type), self.short(m.output_type)
                out += comments(loc, [6, si, 2, mi], "        ")
                if m.server_streaming:
                    out += f"        func {fn}(_ request: {req}, response: TypedStreamWriter<{res}>, context: RPCServerContext) async throws\n"
                else:
                    out += f"        func {fn}(_ request: {req}, context: RPCServerContext) async throws -> {res}\n"
            out += "    }\n\n"
            # Client.
            out += f"    /// A typed client of `{full}` over an `RPCClient`.\n    ///\n"
            out += "    /// **Threading.** `Sendable`; call it from any task. Methods marked idempotent in `proto/` are retried on\n"
            out += "    /// UNAVAILABLE (see `RPCCallOptions.isIdempotent`).\n"
            out += "    public struct Client: Sendable {\n        /// The untyped client underneath.\n        public let rpc: RPCClient\n\n"
            out += "        public init(_ rpc: RPCClient) { self.rpc = rpc }\n"
            for mi, m in enumerate(svc.method):
                fn = ident(camel(m.name[:1].lower() + m.name[1:]))
                req, res = self.short(m.input_type), self.short(m.output_type)
                out += "\n" + comments(loc, [6, si, 2, mi], "        ")
                if m.server_streaming:
                    out += f"        public func {fn}(_ request: {req} = {req}(), options: RPCCallOptions = RPCCallOptions()) throws(RPCError)\n"
                    out += f"            -> TypedStream<{res}>\n        {{\n"
                    out += f"            try ServiceCall.serverStream(rpc, Method.{fn}, request, options: options)\n        }}\n"
                else:
                    out += f"        public func {fn}(_ request: {req} = {req}(), options: RPCCallOptions = RPCCallOptions())\n"
                    out += f"            async throws(RPCError) -> {res}\n        {{\n"
                    out += f"            try await ServiceCall.unary(rpc, Method.{fn}, request, options: options)\n        }}\n"
            out += "    }\n}\n\n"
            # Binding.
            out += f"extension {ns}.Handler {{\n"
            out += "    /// The methods to give an `RPCServer`, by full name; requests that do not decode as the method's type are\n"
            out += "    /// answered INVALID_ARGUMENT (`MALFORMED_REQUEST`) without calling the handler.\n"
            out += "    public var rpcMethods: [String: RPCMethod] {\n        [\n"
            for m in svc.method:
                fn = ident(camel(m.name[:1].lower() + m.name[1:]))
                kind = "serverStream" if m.server_streaming else "unary"
                out += f"            {ns}.Method.{fn}.fullName: ServiceBinding.{kind}({ns}.Method.{fn}, {fn}),\n"
            out += "        ]\n    }\n}\n"
        return out

    def gen_registry(self, raw):
        msgs, svcs, streaming = [], [], []
        for f in self.fds.file:
            if not f.package.startswith("coop."):
                continue
            for m in f.message_type:
                msgs.append(c_lower(f"{f.package}.{m.name}") + "__descriptor")
            for s in f.service:
                svcs.append(c_lower(f"{f.package}.{s.name}") + "__descriptor")
                for meth in s.method:
                    if meth.server_streaming or meth.client_streaming:
                        streaming.append(f"/{f.package}.{s.name}/{meth.name}")
        c = "// Generated by scripts/gen_swift.py. Do not edit.\n"
        c += '#include "CCoopProto.h"\n\n'
        c += "const ProtobufCMessageDescriptor *const coop_message_descriptors[] = {\n"
        c += "".join(f"    &{x},\n" for x in msgs) + "};\n"
        c += f"const size_t coop_message_descriptor_count = {len(msgs)};\n\n"
        c += "const ProtobufCServiceDescriptor *const coop_service_descriptors[] = {\n"
        c += "".join(f"    &{x},\n" for x in svcs) + "};\n"
        c += f"const size_t coop_service_descriptor_count = {len(svcs)};\n\n"
        c += "const char *const coop_streaming_methods[] = {\n"
        c += "".join(f'    "{x}",\n' for x in streaming) + "};\n"
        c += f"const size_t coop_streaming_method_count = {len(streaming)};\n\n"
        c += "const uint8_t coop_descriptor_set[] = {\n"
        for i in range(0, len(raw), 16):
            c += "    " + ", ".join(f"0x{b:02x}" for b in raw[i:i + 16]) + ",\n"
        c += "};\n"
        c += f"const size_t coop_descriptor_set_size = {len(raw)};\n"
        h = "// Generated by scripts/gen_swift.py. Do not edit.\n"
        h += "#ifndef COOP_REGISTRY_H\n#define COOP_REGISTRY_H\n\n#include <protobuf-c/protobuf-c.h>\n\n"
        h += "/// Every message descriptor of proto/coop/v1, in file order.\n"
        h += "extern const ProtobufCMessageDescriptor *const coop_message_descriptors[];\n"
        h += "extern const size_t coop_message_descriptor_count;\n"
        h += "/// Every service descriptor of proto/coop/v1.\n"
        h += "extern const ProtobufCServiceDescriptor *const coop_service_descriptors[];\n"
        h += "extern const size_t coop_service_descriptor_count;\n"
        h += "/// Full names of server-streaming methods (protobuf-c's descriptors do not say).\n"
        h += "extern const char *const coop_streaming_methods[];\n"
        h += "extern const size_t coop_streaming_method_count;\n"
        h += "/// The encoded google.protobuf.FileDescriptorSet of proto/coop/v1 (reflection serves it).\n"
        h += "extern const uint8_t coop_descriptor_set[];\nextern const size_t coop_descriptor_set_size;\n\n"
        h += "/// Accessors for Swift, which cannot index arrays of unknown size.\n"
        h += "static inline const ProtobufCMessageDescriptor *coop_message_descriptor(size_t i) {\n"
        h += "    return i < coop_message_descriptor_count ? coop_message_descriptors[i] : 0;\n}\n"
        h += "static inline const ProtobufCServiceDescriptor *coop_service_descriptor(size_t i) {\n"
        h += "    return i < coop_service_descriptor_count ? coop_service_descriptors[i] : 0;\n}\n"
        h += "static inline const char *coop_streaming_method(size_t i) {\n"
        h += "    return i < coop_streaming_method_count ? coop_streaming_methods[i] : 0;\n}\n"
        h += "static inline const uint8_t *coop_descriptor_set_bytes(void) { return coop_descriptor_set; }\n\n"
        h += "#endif\n"
        return c, h


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: gen_swift.py DESCRIPTOR_SET SWIFT_DIR C_DIR SERVED_SET SERVICES_DIR")
    raw = open(sys.argv[1], "rb").read()
    fds = d.FileDescriptorSet.FromString(raw)
    served = open(sys.argv[4], "rb").read()
    g = Gen(fds)
    for f in fds.file:
        if not f.package.startswith("coop."):
            continue
        base = f.name.rsplit("/", 1)[1].replace(".proto", "")
        with open(f"{sys.argv[2]}/{base.capitalize()}.pb.swift", "w") as fh:
            fh.write(g.gen_file(f))
        if f.service:
            with open(f"{sys.argv[5]}/{base.capitalize()}.rpc.swift", "w") as fh:
                fh.write(g.gen_services(f))
    names = []
    for f in fds.file:
        if f.package.startswith("coop."):
            names += [m.name for m in f.message_type]
    with open(f"{sys.argv[2]}/WireTypes.pb.swift", "w") as fh:
        fh.write("// Generated by scripts/gen_swift.py. Do not edit.\n\n")
        fh.write("/// Every message type of proto/coop/v1, by full name.\n")
        fh.write("public enum WireTypes {\n")
        fh.write("    /// The Swift type of each message, keyed by its full name (`coop.v1.SignedEntry`).\n")
        fh.write("    public static let all: [String: any WireMessage.Type] = [\n")
        for n in sorted(names):
            fh.write(f'        "coop.v1.{n}": {n}.self,\n')
        fh.write("    ]\n}\n")
    c, h = g.gen_registry(served)
    with open(f"{sys.argv[3]}/coop_registry.c", "w") as fh:
        fh.write(c)
    with open(f"{sys.argv[3]}/include/coop_registry.h", "w") as fh:
        fh.write(h)


if __name__ == "__main__":
    main()
