namespace ModelForge.Package.Triton;

/// <summary>Which Triton backend serves the model.</summary>
public enum TritonBackend
{
    /// <summary><c>onnxruntime</c> (platform <c>onnxruntime_onnx</c>), file <c>model.onnx</c>: the default.</summary>
    OnnxRuntime,

    /// <summary>
    /// <c>pytorch</c> (platform <c>pytorch_libtorch</c>), file <c>model.pt</c>: the TorchScript archive itself. Tensor names
    /// follow the backend's <c>NAME__INDEX</c> convention (<c>x__0</c>, <c>output__0</c>); shapes and types come from the ONNX model.
    /// </summary>
    LibTorch,
}

/// <summary>
/// The <c>tensorrt</c> GPU execution accelerator of the onnxruntime backend (serving.md §2.5). With an engine folder the
/// precision and workspace come from the engine's manifest; <see cref="Parameters"/> adds other accepted keys
/// (e.g. <c>trt_engine_cache_enable</c>).
/// </summary>
public sealed record TensorRtAccelerator
{
    /// <summary><c>precision_mode</c>: FP32, FP16, BF16 or INT8.</summary>
    public string Precision { get; init; } = "FP32";

    /// <summary><c>max_workspace_size_bytes</c>; null leaves the backend's default.</summary>
    public long? MaxWorkspaceBytes { get; init; }

    /// <summary>Further accelerator parameters, by the backend's key names; keys are written sorted.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
}

/// <summary>Triton-specific choices; the model itself is described by <see cref="PackageRequest"/>.</summary>
public sealed record TritonOptions
{
    public TritonBackend Backend { get; init; } = TritonBackend.OnnxRuntime;

    /// <summary>The TensorRT accelerator (GPU only). Set automatically when <see cref="PackageRequest.EngineDirectory"/> is given.</summary>
    public TensorRtAccelerator? TensorRt { get; init; }

    /// <summary>
    /// Write <c>model_warmup</c> samples at batch 1 and at <c>max_batch_size</c>: zero data from the declared inputs, or
    /// the first sample of <see cref="TritonSettings.WarmupSample"/>.
    /// </summary>
    public bool Warmup { get; init; } = true;

    /// <summary>Sizes for symbolic dims other than the batch dim (by the symbol's name), which warmup samples need.</summary>
    public IReadOnlyDictionary<string, long> WarmupDimSizes { get; init; } = new Dictionary<string, long>();

    /// <summary><c>version_policy</c>: which versions of the model Triton serves.</summary>
    public TritonVersionPolicy VersionPolicy { get; init; } = TritonVersionPolicy.Default;

    /// <summary>
    /// An existing Triton model repository to add this build to as the model's next version
    /// (<see cref="TritonRepositoryVersions.Add"/>); null: a fresh repository in the bundle's <c>triton/</c> folder.
    /// </summary>
    public string? Repository { get; init; }

    /// <summary>With <see cref="Repository"/>: the model's interface may differ from the existing config's (the change is intended).</summary>
    public bool NewConfig { get; init; }

    /// <summary>Response cache, priorities, queue policies, rate limiter, warm-up sample and backend parameters.</summary>
    public TritonSettings Settings { get; init; } = new();

    /// <summary>
    /// Checks <see cref="Settings"/> against the server's rules that need no model (priorities, queue policies, rate
    /// limiter, backend parameters), so a build spec fails when it is read; packaging checks everything again.
    /// </summary>
    /// <param name="device">Null when not known yet: the GPU-only parameters are then checked when packaging.</param>
    /// <param name="batching">Whether the model will have <c>max_batch_size</c> > 0 (it has a batch dim).</param>
    public void CheckSettings(DeviceKind? device, bool batching) => TritonSettingsPlan.CheckSettings(Settings, Backend, device, batching);
}
