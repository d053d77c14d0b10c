using ModelForge.Core.Diagnostics;

namespace ModelForge.Package.Triton;

/// <summary>One input or output as <c>config.pbtxt</c> declares it: dims without the batch dim, -1 for variable sizes.</summary>
/// <param name="ReshapeToScalar">The tensor is only the batch dim: written as <c>dims: [ 1 ]</c> plus <c>reshape { shape: [ ] }</c>.</param>
public sealed record TritonTensor(string Name, string DataType, IReadOnlyList<long> Dims, bool ReshapeToScalar = false);

/// <summary>A <c>model_warmup</c> sample at one batch size, all dims concrete: zero data for every input, or data from files.</summary>
/// <param name="DataFiles">Per input name, its <c>input_data_file</c> (relative to the model's <c>warmup/</c> folder); null for zero data.</param>
public sealed record TritonWarmup(string Name, int BatchSize, IReadOnlyList<TritonTensor> Inputs, IReadOnlyDictionary<string, string>? DataFiles = null);

/// <summary>A file of the model folder outside the version folder, e.g. <c>warmup/v1/0_x.raw</c>.</summary>
public sealed record TritonModelFile(string RelativePath, byte[] Bytes);

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
    /// <summary>Files the config refers to in the model folder (warm-up data), written with it.</summary>
    public IReadOnlyList<TritonModelFile> ModelFiles { get; init; } = [];

    /// <summary>What the server accepts but may not do as meant (MF4085).</summary>
    public IReadOnlyList<Diagnostic> Warnings { get; init; } = [];
}

/// <summary>A written Triton model: <c>&lt;repository&gt;/&lt;name&gt;/</c> and its <c>config.pbtxt</c>.</summary>
public sealed record TritonModel(string RepositoryRoot, string ModelDirectory, string ConfigPath, TritonModelPlan Plan);
