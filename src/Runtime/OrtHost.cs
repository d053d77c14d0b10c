using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace ModelForge.Runtime;

/// <summary>
/// The one place ModelForge opens ONNX Runtime sessions: the validate stage's candidates, the engine builder (its
/// input check and its TensorRT build), the tuner (input description and measured instances) and the provider probe
/// all come here with an <see cref="OrtSessionRequest"/>.
/// <para>
/// <see cref="Create"/> answers in three ways. <see cref="OrtSessionResult.Created"/> holds the session.
/// <see cref="OrtSessionResult.Unavailable"/> says why a GPU provider cannot give one: its probe
/// (<see cref="ProviderProbe"/>) failed, its library failed to load, or ORT failed the session for a reason that is
/// not the model's (ORT's status code is not one of a missing, unparsable or invalid model: <see cref="OrtErrors.IsModelFault"/>).
/// A model ORT rejects is a <see cref="Core.Diagnostics.ModelForgeException"/> worded by the request's
/// <see cref="OrtSessionRequest.Rejected"/>, with the file named. The CPU provider is never unavailable.
/// </para>
/// </summary>
public static class OrtHost
{
    public static string Version => OrtEnv.Instance().GetVersionString();

    /// <summary>Opens the session <paramref name="request"/> describes (see the class summary for the outcomes).</summary>
    public static OrtSessionResult Create(OrtSessionRequest request)
    {
        if (ProviderProbe.For(request.Provider) is { Available: false } probe)
            return new OrtSessionResult.Unavailable(probe.Reason ?? $"{request.Provider.ExecutionProviderName()} cannot run here");
        return CreateSession(request, probing: false);
    }

    /// <summary>
    /// Opens the session or throws: for a stage that has no use for a provider that cannot run here, an unavailable
    /// provider is reported like a rejected model, as <see cref="OrtSessionRequest.Rejected"/> with ORT's (or the probe's) words.
    /// </summary>
    public static InferenceSession Open(OrtSessionRequest request) => Create(request) switch
    {
        OrtSessionResult.Created created => created.Session,
        OrtSessionResult.Unavailable unavailable => throw request.Rejected.With(unavailable.Detail ?? unavailable.Reason),
        _ => throw new UnreachableException(),
    };

    /// <summary>
    /// Creates the session without asking the probe first. <paramref name="probing"/>: the request is the probe's own,
    /// so every failure is the provider's.
    /// </summary>
    internal static OrtSessionResult CreateSession(OrtSessionRequest request, bool probing)
    {
        QuietEnvironment();
        var provider = request.Provider;
        using var options = request.ToSessionOptions();
        if (provider != OrtProvider.Cpu)
        {
            try
            {
                AppendProvider(options, provider, request.ProviderOptions);
            }
            catch (OnnxRuntimeException e)
            {
                var detail = OrtErrors.FirstLine(e.Message);
                return new OrtSessionResult.Unavailable(ProviderProbe.CannotLoad(provider, detail)) { Detail = detail };
            }
        }
        try
        {
            var session = request.ModelBytes is { } bytes ? new InferenceSession(bytes, options) : new InferenceSession(request.ModelPath, options);
            return new OrtSessionResult.Created(session);
        }
        catch (OnnxRuntimeException e) when (provider != OrtProvider.Cpu && (probing || !OrtErrors.IsModelFault(e)))
        {
            var detail = OrtErrors.FirstLine(e.Message);
            return new OrtSessionResult.Unavailable($"{provider.ExecutionProviderName()} {(probing ? "cannot run here" : "cannot run this model here")}: {detail}")
            {
                Detail = detail,
            };
        }
        catch (OnnxRuntimeException e)
        {
            throw OrtErrors.ToDiagnostic(e, request.Rejected);
        }
    }

    /// <summary>Appends the provider with all of <paramref name="providerOptions"/> in one <c>UpdateOptions</c> call.</summary>
    private static void AppendProvider(SessionOptions options, OrtProvider provider, IReadOnlyDictionary<string, string> providerOptions)
    {
        var values = providerOptions.ToDictionary(p => p.Key, p => p.Value);
        if (provider == OrtProvider.Cuda)
        {
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(values);
            options.AppendExecutionProvider_CUDA(cuda);
        }
        else
        {
            // The native factory copies the options, so disposing them after appending is fine (trt.md §2).
            using var trt = new OrtTensorRTProviderOptions();
            trt.UpdateOptions(values);
            options.AppendExecutionProvider_Tensorrt(trt);
        }
    }

    private static readonly Lazy<bool> Quiet = new(() =>
    {
        // ORT logs a failed provider-library load at ERROR on the process-wide environment before any session
        // options apply; the probe reports the reason itself. (The level is set on the shared instance rather than
        // creating one with options: something else in the process may have created it already.)
        OrtEnv.Instance().EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        return true;
    });

    /// <summary>Makes ORT's process-wide environment log only fatal errors (idempotent; every session creation does it first).</summary>
    internal static void QuietEnvironment() => _ = Quiet.Value;
}
