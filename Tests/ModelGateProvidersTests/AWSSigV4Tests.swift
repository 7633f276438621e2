import ModelGateCrypto
import ModelGateProviders
import ModelGateUpstream
import Testing

/// The AWS Signature Version 4 test suite's credentials and time (`20150830T123600Z`), as in
/// awslabs/aws-c-auth `tests/aws-signing-test-suite/v4/*` (the former "Signature Version 4
/// Test Suite" of the AWS General Reference).
private let exampleCredentials = AWSCredentials(
    accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
private let exampleTime: Int64 = 1_440_938_160
private let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

private func suiteSigner(_ credentials: AWSCredentials = exampleCredentials, contentSHA256: Bool = false)
    -> AWSSigV4Signer
{
    AWSSigV4Signer(credentials: credentials, region: "us-east-1", service: "service", sendsContentSHA256: contentSHA256)
}

@Suite("AWS SigV4 signing")
struct AWSSigV4Tests {
    @Test func amzDateIsUTC() {
        #expect(AWSSigV4Signer.amzDate(exampleTime) == "20150830T123600Z")
        #expect(AWSSigV4Signer.amzDate(0) == "19700101T000000Z")
        #expect(AWSSigV4Signer.amzDate(951_782_400) == "20000229T000000Z")  // a leap day
        #expect(AWSSigV4Signer.amzDate(4_102_444_799) == "20991231T235959Z")
    }

    /// IAM user guide, "Examples of how to derive a signing key for Signature Version 4":
    /// secret `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, 20120215, us-east-1, iam.
    @Test func signingKeyMatchesTheDocumentedExample() {
        let signer = AWSSigV4Signer(credentials: exampleCredentials, region: "us-east-1", service: "iam")
        #expect(
            Hex.encode(signer.signingKey(day: "20120215"))
                == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    /// Test suite `get-vanilla`: `GET / HTTP/1.1`, `Host:example.amazonaws.com`.
    @Test func getVanilla() {
        let signature = suiteSigner().sign(
            method: "GET", url: "https://example.amazonaws.com/", headers: [], body: [], secondsSinceEpoch: exampleTime)
        #expect(
            signature.canonicalRequest
                == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)")
        #expect(
            signature.stringToSign
                == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        )
        #expect(
            signature.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
        #expect(
            signature.headers == [
                HTTPHeader("Host", "example.amazonaws.com"), HTTPHeader("X-Amz-Date", "20150830T123600Z"),
                HTTPHeader("Authorization", signature.authorization),
            ])
    }

    /// Test suite `get-vanilla-query-order-key-case`: parameters are sorted.
    @Test func getVanillaQueryOrderKeyCase() {
        let signature = suiteSigner().sign(
            method: "GET", url: "https://example.amazonaws.com/?Param2=value2&Param1=value1", headers: [], body: [],
            secondsSinceEpoch: exampleTime)
        #expect(signature.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2] == "Param1=value1&Param2=value2")
        #expect(signature.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    /// Test suite `get-utf8`: `GET /ሴ`, whose canonical URI is `/%E1%88%B4`.
    @Test func getUTF8() {
        let signature = suiteSigner().sign(
            method: "GET", url: "https://example.amazonaws.com/ሴ", headers: [], body: [], secondsSinceEpoch: exampleTime)
        #expect(signature.canonicalRequest.split(separator: "\n")[1] == "/%E1%88%B4")
        #expect(signature.signature == "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85")
    }

    /// Test suite `post-vanilla`.
    @Test func postVanilla() {
        let signature = suiteSigner().sign(
            method: "POST", url: "https://example.amazonaws.com/", headers: [], body: [], secondsSinceEpoch: exampleTime)
        #expect(signature.signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    /// Test suite `get-vanilla-with-session-token`: the token is sent and signed.
    @Test func getVanillaWithSessionToken() {
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
        var credentials = exampleCredentials
        credentials.sessionToken = token
        let signature = suiteSigner(credentials).sign(
            method: "GET", url: "https://example.amazonaws.com/", headers: [], body: [], secondsSinceEpoch: exampleTime)
        #expect(signature.signedHeaders == "host;x-amz-date;x-amz-security-token")
        #expect(signature.signature == "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8")
        #expect(signature.headers.contains(HTTPHeader("X-Amz-Security-Token", token)))
    }

    /// Test suite `post-x-www-form-urlencoded` (current version): a signed body, with
    /// `x-amz-content-sha256` and caller headers signed too.
    @Test func postFormWithContentSHA256() {
        let body = Array("Param1=value1".utf8)
        let signature = suiteSigner(contentSHA256: true).sign(
            method: "POST", url: "https://example.amazonaws.com/",
            headers: [HTTPHeader("Content-Type", "application/x-www-form-urlencoded"), HTTPHeader("Content-Length", "13")],
            body: body, secondsSinceEpoch: exampleTime)
        #expect(signature.signedHeaders == "content-length;content-type;host;x-amz-content-sha256;x-amz-date")
        #expect(
            signature.headers.contains(
                HTTPHeader("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")))
        #expect(signature.signature == "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b")
    }

    /// A Bedrock request: service `bedrock`, and the model id's `%3A` double-encoded to `%253A`
    /// in the canonical URI (what libcurl 7.88.1 gets wrong). The expected signature was
    /// computed independently with Python's `hmac`/`hashlib` from the canonical request below.
    @Test func bedrockPathIsDoubleEncoded() {
        let body = Array(#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#.utf8)
        let signer = AWSSigV4Signer(credentials: exampleCredentials, region: "us-east-1", service: "bedrock")
        let signature = signer.sign(
            method: "POST",
            url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
            headers: [HTTPHeader("Content-Type", "application/json"), HTTPHeader("Accept", "application/json")],
            body: body, secondsSinceEpoch: exampleTime)
        #expect(
            signature.canonicalRequest == """
                POST
                /model/anthropic.claude-3-haiku-20240307-v1%253A0/converse

                accept:application/json
                content-type:application/json
                host:bedrock-runtime.us-east-1.amazonaws.com
                x-amz-date:20150830T123600Z

                accept;content-type;host;x-amz-date
                7421da8d1a0949a481724fee62d5886aacde03836bf58248adb73e8b61ac0d54
                """)
        #expect(
            signature.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, Signature=6df1fe786e4ce59ff03e7b7c78f24b84d7299f811cc6bfeb65cd1e66b7e28bff"
        )
    }

    @Test func canonicalFormsFollowTheRules() {
        #expect(AWSSigV4Signer.canonicalURI("") == "/")
        #expect(AWSSigV4Signer.canonicalURI("/a b/c~d._-*") == "/a%20b/c~d._-%2A")
        #expect(AWSSigV4Signer.canonicalQuery("b=2&a=1&A=0&a=0") == "A=0&a=0&a=1&b=2")
        #expect(AWSSigV4Signer.canonicalQuery("x=a%20b&flag") == "flag=&x=a%20b")
        let (block, signed) = AWSSigV4Signer.canonicalHeaders([
            HTTPHeader("X-B", "  two   words "), HTTPHeader("x-a", "1"), HTTPHeader("X-b", "3"),
        ])
        #expect(block == "x-a:1\nx-b:two words,3\n")
        #expect(signed == "x-a;x-b")
    }

    @Test func credentialsNeverPrintTheirSecret() {
        #expect(!"\(exampleCredentials)".contains("EXAMPLEKEY"))
    }
}
