using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Package.IO;
using YamlDotNet.RepresentationModel;

namespace ModelForge.Package.TorchServe;

/// <summary>
/// Writes a TorchServe model archive as torch-model-archiver 0.8–0.12 does (serving.md §1.1–1.2):
/// <c>MAR-INF/MANIFEST.json</c> with the archiver's keys in its order, the serialized model, the handler file (unless
/// built in), <c>model-config.yaml</c> with the batching settings, the requirements file and extra files, all at the
/// archive root. The rules TorchServe applies when it loads the archive are checked first (MF4xxx).
/// <para>
/// Determinism: entries in a fixed order (manifest, model, handler, model-config.yaml, requirements, extra files sorted
/// by name), every entry time and <c>createdOn</c> from <see cref="BundleTimestamp"/> (UTC), fixed file modes.
/// </para>
/// </summary>
public static partial class TorchServeArchiver
{
    public const string ManifestEntry = "MAR-INF/MANIFEST.json";
    public const string ModelConfigEntry = "model-config.yaml";

    /// <summary>The archiver version whose manifest format is reproduced (unchanged from 0.8.0 to 0.12.0).</summary>
    public const string ArchiverVersion = "0.12.0";

    /// <summary>torch-model-archiver's built-in handler names: nothing is copied for these.</summary>
    public static readonly IReadOnlyList<string> BuiltInHandlers =
    [
        "base_handler", "text_classifier", "image_classifier", "object_detector", "image_segmenter",
        "dali_image_classifier", "vllm_handler", "trt_llm_handler",
    ];

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")]
    private static partial Regex ModelNamePattern();

    /// <summary>Checks the request against TorchServe's rules and lays out the archive, without writing anything.</summary>
    public static TorchServeArchivePlan Plan(PackageRequest request, TorchServeOptions? options = null)
    {
        options ??= new TorchServeOptions();
        PackageChecks.Batching(request.Batching);
        if (!ModelNamePattern().IsMatch(request.ModelName))
            throw new ModelForgeException(DiagnosticCode.BundleNameInvalid,
                $"TorchServe model name '{request.ModelName}' does not match ^[A-Za-z0-9][A-Za-z0-9_\\-.]*$: Model name contains special characters",
                null, "use letters, digits, '_', '-' and '.', starting with a letter or digit");
        var version = options.ModelVersion ?? $"{request.Version.ToString(CultureInfo.InvariantCulture)}.0";
        if (string.IsNullOrWhiteSpace(version))
            throw new ModelForgeException(DiagnosticCode.BundleNameInvalid, "the TorchServe model version is empty: Model version is not defined", null,
                "give a version such as 1.0");
        if (options.Runtime is not ("python" or "python3"))
            throw Invalid($"runtime '{options.Runtime}': Runtime is not defined or invalid for a Python handler archive", "use runtime python or python3");

        var files = new List<BundleFile>();
        var serialized = Serialized(request, options);
        files.Add(new BundleFile(serialized, Path.GetFileName(serialized)));
        // base_handler loads the model from the extracted archive's root, so its external data goes next to it there.
        if (options.Serialized == SerializedModel.Onnx) files.AddRange(OnnxSignature.Read(serialized).ExternalData);
        var handler = Handler(request.Handler, files);
        var config = ModelConfig(request, options);
        var configYaml = ModelConfigYaml(config);
        files.Add(new BundleFile("", ModelConfigEntry));
        string? requirements = null;
        if (request.RequirementsFile is { } req)
        {
            PackageChecks.RequireFile(req, "requirements file", "pass an existing requirements.txt");
            requirements = Path.GetFileName(req);
            files.Add(new BundleFile(req, requirements));
        }
        files.AddRange(ExtraFiles(request.ExtraFiles));
        var duplicate = files.GroupBy(f => f.EntryName, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw Invalid($"two files would both be stored as '{duplicate.Key}' at the archive root: archive entries must have distinct names",
                "rename one of the files; torch-model-archiver would silently keep only the last one");

        var timestamp = BundleTimestamp.Resolve(request.Timestamp, serialized);
        var manifest = ManifestJson(timestamp, options.Runtime, request.ModelName, Path.GetFileName(serialized), handler, version, requirements);
        return new TorchServeArchivePlan(request.ModelName, version, options.Format, manifest, configYaml, config, files, timestamp, requirements is not null)
        {
            Warnings = BuiltInHandlerInput.Check(handler, request.Inputs) is { } warning ? [warning] : [],
        };
    }

    /// <summary>
    /// Checks, then writes the archive into <paramref name="exportDirectory"/> as <see cref="TorchServeArchivePlan.StoreName"/>:
    /// a file written through a temporary file and renamed, or (no-archive) a directory staged and renamed.
    /// </summary>
    public static TorchServeArchive Write(PackageRequest request, string exportDirectory, TorchServeOptions? options = null)
    {
        var plan = Plan(request, options);
        var path = Path.Combine(Path.GetFullPath(exportDirectory), plan.StoreName);
        try
        {
            switch (plan.Format)
            {
                case MarFormat.NoArchive:
                    StagedDirectory.Write(path, staging =>
                    {
                        foreach (var (entry, open) in Entries(plan))
                        {
                            var target = Path.Combine(staging, entry.Replace('/', Path.DirectorySeparatorChar));
                            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                            using var stream = File.Create(target);
                            using var source = open();
                            source.CopyTo(stream);
                        }
                    });
                    break;
                case MarFormat.Tgz:
                    AtomicFile.Write(path, stream => WriteTarGz(plan, stream));
                    break;
                default:
                    AtomicFile.Write(path, stream => WriteZip(plan, stream));
                    break;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw TextOutput.NotWritable(path, e);
        }
        return new TorchServeArchive(path, plan);
    }

    /// <summary>
    /// MANIFEST.json byte for byte as the archiver's <c>json.dumps(manifest, indent=2)</c> writes it: keys in the
    /// archiver's order, two-space indents, ASCII only (<c>\uXXXX</c> escapes), no trailing newline.
    /// <c>createdOn</c> is <c>%d/%m/%Y %H:%M:%S</c> like the archiver's, but in UTC rather than local time.
    /// </summary>
    internal static string ManifestJson(DateTimeOffset createdOn, string runtime, string modelName, string serializedFile, string handler,
        string modelVersion, string? requirementsFile)
    {
        var model = new List<(string, string)> { ("modelName", modelName), ("serializedFile", serializedFile), ("handler", handler), ("modelVersion", modelVersion) };
        if (requirementsFile is not null) model.Add(("requirementsFile", requirementsFile));
        model.Add(("configFile", ModelConfigEntry));
        var json = new StringBuilder("{\n");
        json.Append("  \"createdOn\": ").Append(PythonJson.String(createdOn.UtcDateTime.ToString("dd/MM/yyyy HH:mm:ss", CultureInfo.InvariantCulture))).Append(",\n");
        json.Append("  \"runtime\": ").Append(PythonJson.String(runtime)).Append(",\n");
        json.Append("  \"model\": {\n");
        json.Append(string.Join(",\n", model.Select(p => $"    {PythonJson.String(p.Item1)}: {PythonJson.String(p.Item2)}")));
        json.Append("\n  },\n");
        json.Append("  \"archiverVersion\": ").Append(PythonJson.String(ArchiverVersion)).Append("\n}");
        return json.ToString();
    }

    /// <summary>
    /// model-config.yaml: workers, batching, timeout and device, keys in this fixed order. TorchServe ignores a
    /// <c>maxBatchDelay</c> of 0 (it becomes 100 ms), so the tuner's microseconds are rounded up to at least 1 ms.
    /// </summary>
    internal static string ModelConfigYaml(TorchServeModelConfig config) => YamlText.Write(YamlText.Map(
        ("minWorkers", YamlText.Int(config.MinWorkers)),
        ("maxWorkers", YamlText.Int(config.MaxWorkers)),
        ("batchSize", YamlText.Int(config.BatchSize)),
        ("maxBatchDelay", YamlText.Int(config.MaxBatchDelayMilliseconds)),
        ("responseTimeout", YamlText.Int(config.ResponseTimeoutSeconds)),
        ("deviceType", YamlText.Plain(config.DeviceType))));

    private static TorchServeModelConfig ModelConfig(PackageRequest request, TorchServeOptions options)
    {
        var batching = request.Batching;
        var min = options.MinWorkers ?? batching.InstanceCount;
        var max = options.MaxWorkers ?? batching.InstanceCount;
        if (min < 1)
            throw Invalid($"minWorkers {min}: TorchServe applies the archive's workers only if minWorkers > 0 (Invalid model config in mar)", "use at least one worker");
        if (max < min)
            throw Invalid($"maxWorkers {max} < minWorkers {min}: TorchServe applies the archive's workers only if maxWorkers >= minWorkers (Invalid model config in mar)",
                "make maxWorkers at least minWorkers");
        if (options.ResponseTimeoutSeconds < 1)
            throw Invalid($"responseTimeout {options.ResponseTimeoutSeconds}: TorchServe ignores a responseTimeout <= 0 and uses 120 s", "give a positive number of seconds");
        var delayMs = (int)Math.Max(1, ((long)batching.MaxQueueDelayMicroseconds + 999) / 1000);
        return new TorchServeModelConfig(min, max, Math.Max(1, batching.MaxBatchSize), delayMs, options.ResponseTimeoutSeconds,
            request.Device == DeviceKind.Gpu ? "gpu" : "cpu");
    }

    /// <summary>base_handler picks the loader by suffix: <c>.pt</c> → torch.jit.load, <c>.onnx</c> → ONNX Runtime; anything else fails at load.</summary>
    private static string Serialized(PackageRequest request, TorchServeOptions options)
    {
        if (options.Serialized == SerializedModel.Onnx)
        {
            if (!request.OnnxPath.EndsWith(".onnx", StringComparison.Ordinal))
                throw Invalid($"serialized file '{Path.GetFileName(request.OnnxPath)}' does not end in .onnx: base_handler loads ONNX models only by that suffix",
                    "name the ONNX model *.onnx");
            return PackageChecks.RequireFile(request.OnnxPath, "ONNX model", "pass the .onnx file modelforge convert wrote");
        }
        var pt = request.TorchScriptPath
            ?? throw Invalid("no TorchScript file for the serialized file: the archive's serializedFile defaults to the TorchScript .pt",
                "give the source .pt (PackageRequest.TorchScriptPath), or serialize the ONNX model");
        if (!pt.EndsWith(".pt", StringComparison.Ordinal))
            throw Invalid($"serialized file '{Path.GetFileName(pt)}' does not end in .pt: base_handler loads TorchScript only from *.pt (No model weights could be loaded)",
                "copy or rename the TorchScript archive to *.pt");
        return PackageChecks.RequireFile(pt, "TorchScript model", "pass the .pt the ONNX model was converted from");
    }

    /// <summary>
    /// The file of a handler that is one (<c>path/h.py</c>, <c>path/h</c> or <c>path/h.py:fn</c> → <c>path/h.py</c>);
    /// null for a built-in handler's name.
    /// </summary>
    public static string? HandlerFile(string handler)
    {
        if (BuiltInHandlers.Contains(handler)) return null;
        var colon = handler.IndexOf(':', StringComparison.Ordinal);
        var file = colon < 0 ? handler : handler[..colon];
        return file.EndsWith(".py", StringComparison.Ordinal) ? file : file + ".py";
    }

    /// <summary>A built-in name stays bare; a handler file (see <see cref="HandlerFile"/>) is added and named by its base name.</summary>
    private static string Handler(string handler, List<BundleFile> files)
    {
        if (string.IsNullOrWhiteSpace(handler))
            throw Invalid("the handler is empty: an archive needs a handler", "use a built-in handler such as base_handler, or a handler .py file");
        if (HandlerFile(handler) is not { } file) return handler;
        PackageChecks.RequireFile(file, "handler file", $"pass an existing handler .py, or a built-in handler ({string.Join(", ", BuiltInHandlers)})");
        files.Add(new BundleFile(file, Path.GetFileName(file)));
        return Path.GetFileName(handler);
    }

    /// <summary>Files go to the root; a directory's contents go to the root with their subdirectories (<see cref="ExtraFileEntries"/>).</summary>
    private static IEnumerable<BundleFile> ExtraFiles(IReadOnlyList<string> paths)
    {
        var result = new List<BundleFile>();
        foreach (var path in paths)
        {
            if (!File.Exists(path) && !Directory.Exists(path))
                throw new ModelForgeException(DiagnosticCode.PackageFileMissing, $"extra file '{path}' does not exist", new SourceLocation(path),
                    "pass existing files or directories as extra files");
            result.AddRange(ExtraFileEntries(path));
        }
        return result.OrderBy(f => f.EntryName, StringComparer.Ordinal);
    }

    /// <summary>
    /// What one extra-files path puts into an archive: a file itself, or every file under a directory by its relative path,
    /// skipping the folders torch-model-archiver skips (<c>__MACOSX</c>, <c>__pycache__</c>, hidden ones). A path that
    /// does not exist gives nothing. The build's input hash reads the same list, so it covers exactly what is archived.
    /// </summary>
    public static IEnumerable<BundleFile> ExtraFileEntries(string path)
    {
        if (File.Exists(path)) return [new BundleFile(path, Path.GetFileName(path))];
        if (!Directory.Exists(path)) return [];
        var root = Path.GetFullPath(path);
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(file => new BundleFile(file, Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(file => !file.EntryName.Split('/')[..^1].Any(d => d is "__MACOSX" or "__pycache__" || d.StartsWith('.')))
            .OrderBy(file => file.EntryName, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Every entry in archive order with a way to open its bytes: the manifest first, then the plan's files. Files are
    /// read from disk as they are written (an external-data file can be larger than memory).
    /// </summary>
    private static IEnumerable<(string Entry, Func<Stream> Open)> Entries(TorchServeArchivePlan plan)
    {
        yield return (ManifestEntry, () => new MemoryStream(Encoding.UTF8.GetBytes(plan.ManifestJson)));
        foreach (var file in plan.Files)
        {
            if (file.EntryName == ModelConfigEntry && file.SourcePath.Length == 0)
                yield return (file.EntryName, () => new MemoryStream(Encoding.UTF8.GetBytes(plan.ModelConfigYaml)));
            else
                yield return (file.EntryName, () => File.OpenRead(file.SourcePath));
        }
    }

    private static void WriteZip(TorchServeArchivePlan plan, Stream output)
    {
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, open) in Entries(plan))
        {
            var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
            entry.LastWriteTime = plan.Timestamp;
            entry.ExternalAttributes = RegularFileMode << 16;
            using var stream = entry.Open();
            using var source = open();
            source.CopyTo(stream);
        }
    }

    /// <summary>tar.gz with every entry under <c>&lt;name&gt;/</c>, directories before their files, owner root, fixed modes and times.</summary>
    private static void WriteTarGz(TorchServeArchivePlan plan, Stream output)
    {
        using var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true);
        using var tar = new TarWriter(gzip, TarEntryFormat.Ustar, leaveOpen: true);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, open) in Entries(plan))
        {
            var full = plan.ModelName + "/" + name;
            var parts = full.Split('/');
            for (var i = 1; i < parts.Length; i++)
            {
                var directory = string.Join('/', parts[..i]) + "/";
                if (directories.Add(directory))
                    tar.WriteEntry(TarEntry(TarEntryType.Directory, directory, DirectoryMode, plan.Timestamp, null));
            }
            using var data = open();
            tar.WriteEntry(TarEntry(TarEntryType.RegularFile, full, FileMode, plan.Timestamp, data));
        }
    }

    private static UstarTarEntry TarEntry(TarEntryType type, string name, UnixFileMode mode, DateTimeOffset time, Stream? data)
    {
        var entry = new UstarTarEntry(type, name)
        {
            Mode = mode,
            ModificationTime = time,
            Uid = 0,
            Gid = 0,
            UserName = "root",
            GroupName = "root",
        };
        if (data is not null) entry.DataStream = data;
        return entry;
    }

    /// <summary>0o100644: a regular file, rw-r--r-- (zip external attributes carry the Unix mode in the high 16 bits).</summary>
    private const int RegularFileMode = 0x81A4;

    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode DirectoryMode = FileMode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private static ModelForgeException Invalid(string message, string hint) => new(DiagnosticCode.TorchServeArchiveInvalid, message, null, hint);
}

/// <summary>Python's <c>json.dumps</c> string form with its default <c>ensure_ascii=True</c>.</summary>
internal static class PythonJson
{
    public static string String(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case < ' ' or > '\x7f': text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: text.Append(c); break;
            }
        }
        return text.Append('"').ToString();
    }
}
