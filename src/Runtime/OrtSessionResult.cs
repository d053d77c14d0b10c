using Microsoft.ML.OnnxRuntime;

namespace ModelForge.Runtime;

/// <summary>What <see cref="OrtHost.Create"/> gives back: a session, or why the provider cannot give one here.</summary>
public abstract record OrtSessionResult
{
    private OrtSessionResult() { }

    /// <summary>The session; the caller owns and disposes it.</summary>
    public sealed record Created(InferenceSession Session) : OrtSessionResult;

    /// <summary>
    /// The provider cannot run here (its probe failed, or it failed to load) or cannot run this model (ORT failed
    /// the session for a reason that is not the model's). Never for the CPU provider.
    /// </summary>
    /// <param name="Reason">A sentence naming the provider, for reports and skip messages.</param>
    public sealed record Unavailable(string Reason) : OrtSessionResult
    {
        /// <summary>ORT's own first line when ORT failed this request; null when the cached probe answered.</summary>
        public string? Detail { get; init; }
    }
}
