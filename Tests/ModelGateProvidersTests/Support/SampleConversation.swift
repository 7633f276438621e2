import ModelGateCore

/// The conversation the request-translation tests of several adapters start from, so each
/// asserts its own wire shape for the same input.
enum SampleConversation {
    /// A system and a developer prompt; a user question with three images (inline PNG bytes
    /// "hello!?", a base64 JPEG `data:` URL, an https WebP URL); an assistant turn with text and
    /// calls to `get_weather` (`{"city":"Paris"}`) and `get_time` (no arguments); their results:
    /// a `tool_result` part (`{"temp_c":18}`), then an OpenAI-style tool message ("12:00").
    static func messages(weatherCallID: String, timeCallID: String) -> [ChatMessage] {
        [
            ChatMessage(role: .system, text: "You are helpful."),
            ChatMessage(role: .developer, text: "Answer in French."),
            ChatMessage(
                role: .user,
                parts: [
                    .text("What is in these images, and the weather in Paris?"),
                    .imageData(bytes: Array("hello!?".utf8), mimeType: "image/png"),
                    .imageURL(url: "data:image/jpeg;base64,/9j/4AAQ", detail: "high"),
                    .imageURL(url: "https://example.com/cat.webp?size=2", detail: ""),
                ]),
            ChatMessage(
                role: .assistant,
                parts: [
                    .text("Let me check."),
                    .toolCall(ToolCall(id: weatherCallID, name: "get_weather", argumentsJSON: #"{"city":"Paris"}"#)),
                    .toolCall(ToolCall(id: timeCallID, name: "get_time", argumentsJSON: "")),
                ]),
            ChatMessage(role: .tool, parts: [.toolResult(ToolResult(toolCallID: weatherCallID, content: #"{"temp_c":18}"#))]),
            ChatMessage(role: .tool, parts: [.text("12:00")], toolCallID: timeCallID),
        ]
    }

    /// `get_weather` (a description, a schema with whitespace around it, `strict`) and
    /// `get_time` (no parameters).
    static let tools = [
        ToolDefinition(
            name: "get_weather", description: "Current weather",
            parametersJSON: #" {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]} "#,
            strict: true),
        ToolDefinition(name: "get_time"),
    ]
}
