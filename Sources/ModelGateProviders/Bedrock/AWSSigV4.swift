import ModelGateCrypto
import ModelGateUpstream

/// Long-term or temporary AWS credentials.
package struct AWSCredentials: Sendable, Hashable, CustomStringConvertible {
    package var accessKeyID: String
    package var secretAccessKey: String
    /// Present for temporary (STS) credentials; sent as `X-Amz-Security-Token`.
    package var sessionToken: String?

    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Never the secret: credentials may end up in a log line by accident.
    package var description: String { "AWSCredentials(\(accessKeyID), secret redacted)" }
}

/// AWS Signature Version 4 for request headers (`Authorization: AWS4-HMAC-SHA256 …`).
///
/// Done here rather than with libcurl's `CURLOPT_AWS_SIGV4`: the libcurl on the target
/// systems (7.88.1) uses the raw path as the canonical URI, so every Bedrock model id with a
/// `:` (sent as `%3A`) fails with 403 SignatureDoesNotMatch, and it would derive the service
/// name `bedrock-runtime` from the host where Bedrock signs as `bedrock`.
///
/// Rules (AWS IAM user guide, "Create a signed AWS API request"):
/// - Canonical URI: the path as sent, percent-encoded once more (every byte outside the
///   unreserved set, `/` kept); so `%3A` on the wire is `%253A` in the canonical request.
///   This is the rule for every service but S3, which is not signed here. Dot segments are not
///   normalized: the gateway never builds paths that contain them.
/// - Canonical query: parameters decoded, re-encoded, sorted by name then value.
/// - Canonical headers: every header given to ``sign(method:url:headers:body:secondsSinceEpoch:)``
///   (lowercased names, trimmed values with inner runs of spaces collapsed, repeated names
///   joined with commas), plus `host` and `x-amz-date`; the caller decides what to sign by
///   what it passes.
/// - Payload: the hex SHA-256 of the body.
package struct AWSSigV4Signer: Sendable {
    package var credentials: AWSCredentials
    package var region: String
    /// The signing name, e.g. `bedrock` (not the `bedrock-runtime` host prefix).
    package var service: String
    /// Also send (and sign) `x-amz-content-sha256`. Optional for Bedrock.
    package var sendsContentSHA256: Bool

    package init(credentials: AWSCredentials, region: String, service: String, sendsContentSHA256: Bool = false) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.sendsContentSHA256 = sendsContentSHA256
    }

    /// The intermediate values of a signature, for tests and debugging (never secret).
    package struct Signature: Sendable, Hashable {
        package var canonicalRequest: String
        package var stringToSign: String
        package var signedHeaders: String
        /// Hex HMAC of the string to sign.
        package var signature: String
        /// The `Authorization` header value.
        package var authorization: String
        /// The headers to send: the given ones plus `Host` (unless given), `X-Amz-Date`,
        /// `X-Amz-Security-Token` and `x-amz-content-sha256` when they apply, and
        /// `Authorization`.
        package var headers: [HTTPHeader]
    }

    /// Signs a request.
    /// - Parameters:
    ///   - url: absolute `http(s)://host[:port]/path[?query]`, exactly as it will be sent.
    ///   - headers: the headers to sign and send (not `Authorization`).
    ///   - secondsSinceEpoch: the signing time.
    package func sign(
        method: String, url: String, headers: [HTTPHeader], body: [UInt8], secondsSinceEpoch: Int64
    ) -> Signature {
        let parts = Self.split(url: url)
        let amzDate = Self.amzDate(secondsSinceEpoch)
        let day = String(amzDate.prefix(8))
        let payloadHash = Hex.encode(SHA256.hash(body))

        var sent = headers
        if !sent.contains(where: { $0.name.lowercased() == "host" }) {
            sent.insert(HTTPHeader("Host", parts.authority), at: 0)
        }
        sent.append(HTTPHeader("X-Amz-Date", amzDate))
        if let token = credentials.sessionToken, !token.isEmpty {
            sent.append(HTTPHeader("X-Amz-Security-Token", token))
        }
        if sendsContentSHA256 {
            sent.append(HTTPHeader("x-amz-content-sha256", payloadHash))
        }

        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(sent)
        let canonicalRequest = [
            method,
            Self.canonicalURI(parts.path),
            Self.canonicalQuery(parts.query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Hex.encode(SHA256.hash(Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let signature = Hex.encode(
            HMACSHA256.authenticationCode(key: signingKey(day: day), message: Array(stringToSign.utf8)))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        sent.append(HTTPHeader("Authorization", authorization))
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders,
            signature: signature, authorization: authorization, headers: sent)
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")`.
    package func signingKey(day: String) -> [UInt8] {
        var key = HMACSHA256.authenticationCode(
            key: Array("AWS4\(credentials.secretAccessKey)".utf8), message: Array(day.utf8))
        for part in [region, service, "aws4_request"] {
            key = HMACSHA256.authenticationCode(key: key, message: Array(part.utf8))
        }
        return key
    }

    // MARK: Canonical forms

    /// `YYYYMMDDTHHMMSSZ` in UTC.
    package static func amzDate(_ secondsSinceEpoch: Int64) -> String {
        let time = HTTPDate.civil(secondsSinceEpoch: secondsSinceEpoch)
        func digits(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return digits(time.year, 4) + digits(time.month, 2) + digits(time.day, 2) + "T" + digits(time.hour, 2)
            + digits(time.minute, 2) + digits(time.second, 2) + "Z"
    }

    /// The path as sent, encoded once more (non-S3 services "double-encode").
    package static func canonicalURI(_ path: Substring) -> String {
        path.isEmpty ? "/" : URIEncoding.encode(path.utf8, keepingSlash: true)
    }

    package static func canonicalQuery(_ query: Substring) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(name: String, value: String)] = []
        for parameter in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = URIEncoding.decode(pieces[0].utf8) ?? Array(pieces[0].utf8)
            let value = pieces.count > 1 ? URIEncoding.decode(pieces[1].utf8) ?? Array(pieces[1].utf8) : []
            pairs.append((URIEncoding.encode(name), URIEncoding.encode(value)))
        }
        pairs.sort { $0.name == $1.name ? $0.value.utf8.lexicographicallyPrecedes($1.value.utf8) : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        return pairs.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// The canonical header block (each line ending in a newline) and the signed-header list.
    package static func canonicalHeaders(_ headers: [HTTPHeader]) -> (block: String, signed: String) {
        var merged: [(name: String, value: String)] = []
        for header in headers {
            let name = header.name.lowercased()
            let value = canonicalValue(header.value)
            if let index = merged.firstIndex(where: { $0.name == name }) {
                merged[index].value += "," + value
            } else {
                merged.append((name, value))
            }
        }
        merged.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let block = merged.map { "\($0.name):\($0.value)\n" }.joined()
        return (block, merged.map(\.name).joined(separator: ";"))
    }

    /// Trimmed, with inner runs of spaces and tabs collapsed to one space.
    private static func canonicalValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// `http(s)://authority/path?query` → its parts; a missing path is empty (signed as `/`).
    private static func split(url: String) -> (authority: String, path: Substring, query: Substring) {
        var rest = Substring(url)
        if let schemeEnd = rest.firstRange(of: "://") { rest = rest[schemeEnd.upperBound...] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let target = rest[authorityEnd...]
        let queryStart = target.firstIndex(of: "?")
        let path = queryStart.map { target[..<$0] } ?? target
        let query = queryStart.map { target[target.index(after: $0)...] } ?? ""
        return (String(authority), path, query)
    }
}
