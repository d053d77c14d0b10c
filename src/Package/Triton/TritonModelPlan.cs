namespace ModelForge.Package.Triton;

/// <summary>One input or output as <c>config.pbtxt</c> declares it: dims without the batch dim, -1 for variable sizes.</summary>
/// <param name="ReshapeToScalar">The tensor is only the batch dim: written as <c>dims: [ 1 ]</c> plus <c>reshape { shape: [ ] }</c>.</param>
/// <param name="LabelFileName">An output's <c>label_filename</c>: a file in the model folder with one label per class, for Triton's classification extension.</param>
public sealed record TritonTensor(string Name, string DataType, IReadOnlyList<long> Dims, bool ReshapeToScalar = false, string? LabelFileName = null);

/// <summary>A <c>model_warmup</c> sample: zero data for every input at one batch size, all dims concrete.</summary>
public sealed record TritonWarmup(string Name, int BatchSize, IReadOnlyList<TritonTensor> Inputs);

/// <summary>
/// A checked Triton model, ready to write: the <c>config.pbtxt</c> text and the files of its version directory. Made by
/// <see cref="TritonRepositoryWriter.Plan"/>, which has already applied every load-time rule.
/// </summary>
public sealed record TritonModelPlan(
    string ModelName,
    int Version,
    string ConfigText,
    IReadOnlyList<TritonTensor> Inputs,
    IReadOnlyList<TritonTensor> Outputs,
    IReadOnlyList<BundleFile> VersionFiles,
    string? EngineBinding)
{
    /// <summary>Files beside <c>config.pbtxt</c> in the model folder (label files), shared by every version.</summary>
    public IReadOnlyList<BundleFile> ModelFiles { get; init; } = [];
}

/// <summary>A written Triton model: <c>&lt;repository&gt;/&lt;name&gt;/</c> and its <c>config.pbtxt</c>.</summary>
public sealed record TritonModel(string RepositoryRoot, string ModelDirectory, string ConfigPath, TritonModelPlan Plan);
