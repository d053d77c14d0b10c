using System.Globalization;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Model.Tensors;

namespace ModelForge.Package.Triton;

/// <summary>
/// A user's <c>.npz</c> as Triton's warm-up data: one array per model input, named as the input, batch dim first (as
/// <c>modelforge validate --inputs</c> takes them). Triton sends each warm-up request with batch 1 and reads
/// <c>input_data_file</c> as the raw bytes of one sample (<c>backend_model_instance.cc</c> <c>GenerateWarmupData</c>),
/// so the first sample of each array is written as raw little-endian, row-major bytes.
/// </summary>
/// <param name="Inputs">The config's inputs with the sample's concrete dims (no batch dim when the model batches).</param>
/// <param name="Files">Per config input name, the file under the model's <c>warmup/</c> folder.</param>
internal sealed record WarmupSample(IReadOnlyList<TritonTensor> Inputs, IReadOnlyList<(string Input, string RelativePath, byte[] Bytes)> Files)
{
    public const string Folder = "warmup";

    /// <param name="inputs">The inputs as config.pbtxt declares them, in the order of <see cref="PackageRequest.Inputs"/>.</param>
    public static WarmupSample Read(string path, PackageRequest request, IReadOnlyList<TritonTensor> inputs)
    {
        var arrays = Npz.Read(path);
        var location = new SourceLocation(path);
        var names = request.Inputs.Select(i => i.Name).ToList();
        var extra = arrays.Keys.Where(k => !names.Contains(k)).ToList();
        if (extra.Count > 0)
            throw Invalid($"warm-up sample '{path}' holds array '{extra[0]}', which is no input of the model (its inputs: {string.Join(", ", names)})", location,
                "name each array after the input it feeds (numpy.savez(path, x=…))");

        var batching = request.Batching.MaxBatchSize > 0;
        var symbolSizes = new Dictionary<string, long>(StringComparer.Ordinal);
        var concrete = new List<TritonTensor>();
        var files = new List<(string, string, byte[])>();
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var declared = request.Inputs[i];
            if (!arrays.TryGetValue(declared.Name, out var array))
                throw Invalid($"warm-up sample '{path}' has no array '{declared.Name}': every input needs one (its arrays: {string.Join(", ", arrays.Keys)})", location,
                    $"add the input to the .npz: numpy.savez(path, {declared.Name}=…)");
            if (array.ElementType != declared.DataType)
                throw Invalid($"warm-up array '{declared.Name}' is {array.ElementType.Name()}, but input '{declared.Name}' is {declared.DataType.Name()}", location,
                    $"save the array as {declared.DataType.Name()}");
            var shape = $"[{string.Join(",", declared.Dims)}]";
            if (array.Shape.Length != declared.Dims.Count)
                throw Invalid($"warm-up array '{declared.Name}' has shape {array.ShapeText}, but input '{declared.Name}' is declared {shape}: the ranks differ", location,
                    batching ? "keep the batch dim first, e.g. shape [1, …] for one sample" : "give the array the input's full shape");
            if (array.ElementCount == 0)
                throw Invalid($"warm-up array '{declared.Name}' has shape {array.ShapeText}: it holds no sample", location, "give at least one sample");
            for (var d = batching ? 1 : 0; d < declared.Dims.Count; d++)
            {
                var dim = declared.Dims[d];
                var size = array.Shape[d];
                if (dim.Value is { } fixedSize && size != fixedSize)
                    throw Invalid($"warm-up array '{declared.Name}' has shape {array.ShapeText}, but input '{declared.Name}' is declared {shape}: dim {d} must be {fixedSize}", location,
                        "save a sample of the shape the model takes");
                if (dim.Symbol is { } symbol && !symbolSizes.TryAdd(symbol, size) && symbolSizes[symbol] != size)
                    throw Invalid($"warm-up arrays disagree on dim '{symbol}': {symbolSizes[symbol]} in one input, {size} in '{declared.Name}'", location,
                        $"give '{symbol}' one size in every array of the sample");
            }
            var sampleDims = array.Shape.Skip(batching ? 1 : 0).ToList();
            var sampleBytes = (int)(sampleDims.Aggregate(1L, (a, b) => a * b) * declared.DataType.SizeInBytes());
            var relative = $"v{request.Version.ToString(CultureInfo.InvariantCulture)}/{i.ToString(CultureInfo.InvariantCulture)}_{FileSafe(declared.Name)}.raw";
            // A batch-only input is declared dims [1] (reshaped to a scalar); its warm-up dims say the same.
            concrete.Add(inputs[i] with { Dims = inputs[i].ReshapeToScalar ? [1] : sampleDims });
            files.Add((inputs[i].Name, relative, array.Data[..sampleBytes]));
        }
        return new WarmupSample(concrete, files);
    }

    /// <summary>Warm-up at batch 1 and at max_batch_size, every input from its file.</summary>
    public List<TritonWarmup> Warmups(BatchingConfig batching)
    {
        var dataFiles = Files.ToDictionary(f => f.Input, f => f.RelativePath, StringComparer.Ordinal);
        var sizes = batching.MaxBatchSize > 0 ? new[] { 1, batching.MaxBatchSize }.Distinct() : [1];
        return sizes.Select(size => new TritonWarmup($"sample_batch_{size}", size, Inputs, dataFiles)).ToList();
    }

    public IReadOnlyList<TritonModelFile> ModelFiles => Files.Select(f => new TritonModelFile($"{Folder}/{f.RelativePath}", f.Bytes)).ToList();

    /// <summary>
    /// <c>warmup/vN</c>: each version's data in its own folder, so adding a version to a repository never replaces the
    /// files the current config reads.
    /// </summary>
    public static string VersionFolder(int version) => $"{Folder}/v{version.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>An input name as a file name: letters, digits, '.', '-' and '_' kept, anything else '_' (the index prefix keeps names apart).</summary>
    private static string FileSafe(string name) =>
        new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray());

    private static ModelForgeException Invalid(string message, SourceLocation location, string hint) =>
        new(DiagnosticCode.TritonWarmupSampleInvalid, message, location, hint);
}
