using ModelForge.Runtime;

namespace ModelForge.Engine;

/// <summary>
/// The provider probe (<see cref="ProviderProbe"/>, in the ONNX Runtime host) seen from the engine stage, whose
/// <c>--require</c> names providers as <see cref="EngineRequirement"/>s. Results are computed once per process.
/// </summary>
public static class EngineProbe
{
    public static ProbeResult TensorRt => ProviderProbe.TensorRt;
    public static ProbeResult Cuda => ProviderProbe.Cuda;

    public static ProbeResult For(EngineRequirement provider) => ProviderProbe.For(ProviderOf(provider));

    public static OrtProvider ProviderOf(EngineRequirement provider) => provider == EngineRequirement.Cuda ? OrtProvider.Cuda : OrtProvider.TensorRt;

    public static string ProviderName(EngineRequirement provider) => ProviderOf(provider).ExecutionProviderName();
}
