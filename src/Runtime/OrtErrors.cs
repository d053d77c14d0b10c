using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Runtime;

/// <summary>
/// ONNX Runtime's status codes (<c>OrtErrorCode</c>). The C# package keeps the code only in the
/// <c>[ErrorCode:Name]</c> prefix it puts on every <see cref="OnnxRuntimeException"/> message;
/// <see cref="OrtErrors.CodeOf"/> reads it back.
/// </summary>
public enum OrtErrorCode
{
    Unknown,
    Fail,
    InvalidArgument,
    NoSuchFile,
    NoModel,
    EngineError,
    RuntimeException,
    InvalidProtobuf,
    ModelLoaded,
    NotImplemented,
    InvalidGraph,
    /// <summary>ORT_EP_FAIL: an execution provider failed (the C# package names it <c>ShapeInferenceNotRegistered</c>).</summary>
    EpFail,
    /// <summary>ORT_MODEL_LOAD_CANCELED (the C# package names it <c>RequirementNotRegistered</c>).</summary>
    ModelLoadCanceled,
}

/// <summary>The one translation of ONNX Runtime errors into ModelForge diagnostics.</summary>
public static class OrtErrors
{
    /// <summary>
    /// The diagnostic a stage reports for <paramref name="error"/>: <paramref name="failure"/>'s code, location and
    /// hint, and the message <c>What: ORT's first line</c> (the rest of ORT's message is its source location and stack).
    /// The ORT exception stays attached as the inner exception.
    /// </summary>
    public static ModelForgeException ToDiagnostic(OnnxRuntimeException error, OrtFailure failure) => failure.With(FirstLine(error.Message), error);

    /// <summary>Runs <paramref name="action"/> (a session run, a warm-up) and reports an ONNX Runtime error as <paramref name="failure"/>.</summary>
    public static T Guard<T>(Func<T> action, Func<OrtFailure> failure)
    {
        try
        {
            return action();
        }
        catch (OnnxRuntimeException e)
        {
            throw ToDiagnostic(e, failure());
        }
    }

    /// <inheritdoc cref="Guard{T}(Func{T}, Func{OrtFailure})"/>
    public static void Guard(Action action, Func<OrtFailure> failure) => Guard(() => { action(); return true; }, failure);

    /// <summary>The status code ORT put in front of the message (<see cref="OrtErrorCode.Unknown"/> when there is none).</summary>
    public static OrtErrorCode CodeOf(OnnxRuntimeException error)
    {
        const string prefix = "[ErrorCode:";
        var message = error.Message;
        var end = message.IndexOf(']', StringComparison.Ordinal);
        if (!message.StartsWith(prefix, StringComparison.Ordinal) || end < 0) return OrtErrorCode.Unknown;
        return message[prefix.Length..end] switch
        {
            "ShapeInferenceNotRegistered" => OrtErrorCode.EpFail,
            "RequirementNotRegistered" => OrtErrorCode.ModelLoadCanceled,
            var name => Enum.TryParse<OrtErrorCode>(name, out var code) ? code : OrtErrorCode.Unknown,
        };
    }

    /// <summary>
    /// Whether a failed session creation is the model's fault (a missing, unparsable or invalid model) rather than
    /// the provider's (it failed, ran out of memory, or cannot place a node with the CPU fallback off).
    /// </summary>
    public static bool IsModelFault(OnnxRuntimeException error) => CodeOf(error) is OrtErrorCode.NoSuchFile or OrtErrorCode.NoModel
        or OrtErrorCode.InvalidProtobuf or OrtErrorCode.InvalidGraph or OrtErrorCode.ModelLoaded or OrtErrorCode.InvalidArgument;

    /// <summary>The first line of an error message, trimmed.</summary>
    public static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
