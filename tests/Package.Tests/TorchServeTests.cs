using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Tuning;

namespace ModelForge.Package.Tests;

[Collection(ModelsCollection.Name)]
public sealed class TorchServeTests(Models models) : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("modelforge-torchserve-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    private PackageRequest ResNet() => Requests.ResNet(models) with { ExtraFiles = [IndexToName()] };

    private string IndexToName()
    {
        var path = Path.Combine(_out, "index_to_name.json");
        File.WriteAllText(path, "{\"0\": \"zero\"}");
        return path;
    }

    [Fact]
    public void Manifest_matches_golden() => Golden.Check(TorchServeArchiver.Plan(ResNet()).ManifestJson, "MANIFEST.json");

    [Fact]
    public void Model_config_matches_golden() => Golden.Check(TorchServeArchiver.Plan(ResNet()).ModelConfigYaml, "model-config.yaml");

    [Fact]
    public void Standalone_properties_match_golden() =>
        Golden.Check(TorchServeProperties.Standalone(TorchServeArchiver.Plan(ResNet())), "config.properties");

    [Fact]
    public void KServe_properties_match_golden() =>
        Golden.Check(TorchServeProperties.KServe(TorchServeArchiver.Plan(ResNet())), "config.kserve.properties");

    [Fact]
    public void Manifest_has_the_archivers_keys_in_its_order()
    {
        var plan = TorchServeArchiver.Plan(Requests.ResNet(models) with { RequirementsFile = Requirements() });
        using var manifest = JsonDocument.Parse(plan.ManifestJson);
        Assert.Equal(["createdOn", "runtime", "model", "archiverVersion"], manifest.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["modelName", "serializedFile", "handler", "modelVersion", "requirementsFile", "configFile"],
            manifest.RootElement.GetProperty("model").EnumerateObject().Select(p => p.Name));
        Assert.Equal("17/03/2025 11:20:57", manifest.RootElement.GetProperty("createdOn").GetString());
        Assert.Equal("model.pt", manifest.RootElement.GetProperty("model").GetProperty("serializedFile").GetString());
        Assert.Equal("1.0", manifest.RootElement.GetProperty("model").GetProperty("modelVersion").GetString());
    }

    [Fact]
    public void Zip_archive_round_trips_and_its_onnx_model_loads()
    {
        var archive = TorchServeArchiver.Write(ResNet(), _out, new TorchServeOptions { Serialized = SerializedModel.Onnx });
        Assert.Equal(Path.Combine(_out, "resnet.mar"), archive.Path);
        using var zip = ZipFile.OpenRead(archive.Path);
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Equal(["MAR-INF/MANIFEST.json", "resnet.onnx", "model-config.yaml", "index_to_name.json"], names);
        AssertSafe(names);
        using var manifest = JsonDocument.Parse(Read(zip.GetEntry("MAR-INF/MANIFEST.json")!));
        var model = manifest.RootElement.GetProperty("model");
        Assert.Equal("resnet", model.GetProperty("modelName").GetString());
        Assert.Equal("resnet.onnx", model.GetProperty("serializedFile").GetString());
        Assert.Equal("base_handler", model.GetProperty("handler").GetString());
        Assert.Equal("model-config.yaml", model.GetProperty("configFile").GetString());
        // Zip's DOS times have two-second resolution: 11:20:57 is stored as 11:20:56.
        Assert.All(zip.Entries, e => Assert.Equal(Requests.Time.AddSeconds(-1).UtcDateTime, e.LastWriteTime.UtcDateTime));

        var onnx = Path.Combine(_out, "extracted.onnx");
        File.WriteAllBytes(onnx, Read(zip.GetEntry("resnet.onnx")!));
        using var session = new InferenceSession(onnx);
        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("x", input.Key);
        Assert.Equal([-1, 3, 64, 64], input.Value.Dimensions);
        Assert.Equal("output", Assert.Single(session.OutputMetadata).Key);
    }

    [Fact]
    public void Tgz_archive_round_trips_with_every_entry_under_the_model_name()
    {
        var archive = TorchServeArchiver.Write(ResNet(), _out, new TorchServeOptions { Format = MarFormat.Tgz });
        Assert.Equal(Path.Combine(_out, "resnet.tar.gz"), archive.Path);
        var files = new Dictionary<string, byte[]>();
        var all = new List<string>();
        using (var gzip = new GZipStream(File.OpenRead(archive.Path), CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                all.Add(entry.Name);
                Assert.Equal(Requests.Time, entry.ModificationTime);
                if (entry.EntryType == TarEntryType.RegularFile) files[entry.Name] = Read(entry.DataStream!);
            }
        }
        AssertSafe(all);
        Assert.All(all, name => Assert.StartsWith("resnet/", name));
        Assert.Equal(["resnet/MAR-INF/MANIFEST.json", "resnet/model.pt", "resnet/model-config.yaml", "resnet/index_to_name.json"], files.Keys);
        using var manifest = JsonDocument.Parse(files["resnet/MAR-INF/MANIFEST.json"]);
        Assert.Equal("model.pt", manifest.RootElement.GetProperty("model").GetProperty("serializedFile").GetString());
        Assert.Equal(File.ReadAllBytes(Models.ResNetPt), files["resnet/model.pt"]);
    }

    [Fact]
    public void No_archive_writes_a_directory()
    {
        var archive = TorchServeArchiver.Write(ResNet(), _out, new TorchServeOptions { Format = MarFormat.NoArchive });
        Assert.Equal(TorchServeArchiver.Plan(ResNet()).ManifestJson, File.ReadAllText(Path.Combine(archive.Path, "MAR-INF", "MANIFEST.json")));
        Assert.True(File.Exists(Path.Combine(archive.Path, "model-config.yaml")));
    }

    [Theory]
    [InlineData(MarFormat.Default)]
    [InlineData(MarFormat.Tgz)]
    public void Same_inputs_give_identical_bytes(MarFormat format)
    {
        var first = File.ReadAllBytes(TorchServeArchiver.Write(ResNet(), Path.Combine(_out, "a"), new TorchServeOptions { Format = format }).Path);
        var second = File.ReadAllBytes(TorchServeArchiver.Write(ResNet(), Path.Combine(_out, "b"), new TorchServeOptions { Format = format }).Path);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Handler_files_and_directories_of_extra_files_are_added()
    {
        var handler = Path.Combine(_out, "my_handler.py");
        File.WriteAllText(handler, "def handle(data, context):\n    return data\n");
        var extra = Directory.CreateDirectory(Path.Combine(_out, "assets", "sub")).Parent!.FullName;
        File.WriteAllText(Path.Combine(extra, "sub", "vocab.txt"), "a");
        Directory.CreateDirectory(Path.Combine(extra, "__pycache__"));
        File.WriteAllText(Path.Combine(extra, "__pycache__", "x.pyc"), "skip");
        var plan = TorchServeArchiver.Plan(Requests.ResNet(models) with { Handler = Path.Combine(_out, "my_handler") + ":handle", ExtraFiles = [extra] });
        Assert.Equal(["model.pt", "my_handler.py", "model-config.yaml", "sub/vocab.txt"], plan.Files.Select(f => f.EntryName));
        Assert.Contains("\"handler\": \"my_handler:handle\"", plan.ManifestJson);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(100, 1)]
    [InlineData(1500, 2)]
    [InlineData(5000, 5)]
    public void Batch_delay_is_rounded_up_to_whole_milliseconds_never_zero(int microseconds, int milliseconds) =>
        Assert.Equal(milliseconds, TorchServeArchiver.Plan(Requests.ResNet(models) with { Batching = new BatchingConfig(8, [], microseconds, 1) }).Config.MaxBatchDelayMilliseconds);

    // ---- rules ----

    [Fact]
    public void Model_name_must_match_the_archivers_pattern() =>
        Rules.Fails(DiagnosticCode.BundleNameInvalid, "Model name contains special characters",
            () => TorchServeArchiver.Plan(Requests.ResNet(models) with { ModelName = "-resnet" }));

    [Fact]
    public void Model_version_must_not_be_empty() =>
        Rules.Fails(DiagnosticCode.BundleNameInvalid, "Model version is not defined",
            () => TorchServeArchiver.Plan(Requests.ResNet(models), new TorchServeOptions { ModelVersion = " " }));

    [Fact]
    public void Runtime_must_be_python() =>
        Rules.Fails(DiagnosticCode.TorchServeArchiveInvalid, "Runtime is not defined or invalid",
            () => TorchServeArchiver.Plan(Requests.ResNet(models), new TorchServeOptions { Runtime = "LSP" }));

    [Fact]
    public void Torchscript_must_be_named_pt()
    {
        var pth = Path.Combine(_out, "model.pth");
        File.Copy(Models.ResNetPt, pth);
        Rules.Fails(DiagnosticCode.TorchServeArchiveInvalid, "base_handler loads TorchScript only from *.pt",
            () => TorchServeArchiver.Plan(Requests.ResNet(models) with { TorchScriptPath = pth }));
    }

    [Fact]
    public void Onnx_must_be_named_onnx()
    {
        var bin = Path.Combine(_out, "model.bin");
        File.Copy(models.ResNetOnnx, bin);
        Rules.Fails(DiagnosticCode.TorchServeArchiveInvalid, "base_handler loads ONNX models only by that suffix",
            () => TorchServeArchiver.Plan(Requests.ResNet(models) with { OnnxPath = bin }, new TorchServeOptions { Serialized = SerializedModel.Onnx }));
    }

    [Fact]
    public void Torchscript_file_is_needed_by_default() =>
        Rules.Fails(DiagnosticCode.TorchServeArchiveInvalid, "serializedFile defaults to the TorchScript .pt",
            () => TorchServeArchiver.Plan(Requests.ResNet(models) with { TorchScriptPath = null }));

    [Fact]
    public void Handler_must_not_be_empty() =>
        Rules.Fails(DiagnosticCode.TorchServeArchiveInvalid, "an archive needs a handler",
            () => TorchServeArchiver.Plan(Requests.ResNet(models) with { Handler = "" }));

    [Fact]
    public void Handler_file_must_exist() =>
        Rules.Fails(DiagnosticCode.PackageFileMissing, "handler file",
            () => TorchServeArchiver.Plan(Requests.ResNet(models) with { Handler = Path.Combine(_out, "missing.py") }));

    [Fact]
    public void Extra_files_must_exist() =>
        Rules.Fails(DiagnosticCode.PackageFileMissing, "extra file",
            () => TorchServeArchiver.Plan(Requests.ResNet(models) with { ExtraFiles = [Path.Combine(_out, "missing.json")] }));

    [Fact]
    public void Entry_names_must_be_distinct()
    {
        var clash = Path.Combine(Directory.CreateDirectory(Path.Combine(_out, "clash")).FullName, "model-config.yaml");
        File.WriteAllText(clash, "batchSize: 64\n");
        Rules.Fails(DiagnosticCode.TorchServeArchiveInvalid, "archive entries must have distinct names",
            () => TorchServeArchiver.Plan(Requests.ResNet(models) with { ExtraFiles = [clash] }));
    }

    [Theory]
    [InlineData(0, 1, 120, "only if minWorkers > 0")]
    [InlineData(2, 1, 120, "only if maxWorkers >= minWorkers")]
    [InlineData(1, 1, 0, "TorchServe ignores a responseTimeout <= 0")]
    public void Worker_and_timeout_values_TorchServe_would_ignore_are_refused(int min, int max, int timeout, string rule) =>
        Rules.Fails(DiagnosticCode.TorchServeArchiveInvalid, rule,
            () => TorchServeArchiver.Plan(Requests.ResNet(models), new TorchServeOptions { MinWorkers = min, MaxWorkers = max, ResponseTimeoutSeconds = timeout }));

    [Fact]
    public void Batching_rules_apply_to_archives_too() =>
        Rules.Fails(DiagnosticCode.BatchingConfigInvalid, "an instance group needs a count of at least 1",
            () => TorchServeArchiver.Plan(Requests.ResNet(models) with { Batching = new BatchingConfig(8, [], 0, 0) }));

    private string Requirements()
    {
        var path = Path.Combine(_out, "requirements.txt");
        File.WriteAllText(path, "onnxruntime\n");
        return path;
    }

    // MF4012: image_classifier and image_segmenter resize to 256 and crop 224, so a model declared for another image
    // size gets a warning with both sizes and how to pass a handler, from the packager as from the plan.

    private static readonly PackagingTargets TorchServeOnly = new() { TorchServe = new TorchServeOptions(), Tuning = TuningLevel.Off };

    [Fact]
    public void A_64x64_model_with_image_classifier_is_warned_about()
    {
        var result = Packager.Package(Requests.ResNet(models) with { Handler = "image_classifier" }, TorchServeOnly, _out);

        var warning = Assert.Single(result.Warnings);
        Assert.Equal(DiagnosticCode.TorchServeHandlerInputMismatch, warning.Code);
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Contains("image_classifier resizes each image to 256 and center-crops it to 224", warning.Message);
        Assert.Contains("[N, 3, 224, 224]", warning.Message);
        Assert.Contains("x:float32[batch,3,64,64] (3×64×64)", warning.Message);
        Assert.Contains("3×64×64 images", warning.Hint);
        Assert.Contains("--handler my_handler.py", warning.Hint);
        Assert.StartsWith("modelforge: warning MF4012: ", warning.Format(), StringComparison.Ordinal);
        // A warning, not a refusal: the archive is written.
        Assert.True(File.Exists(Path.Combine(_out, Packager.TorchServeFolder, "model-store", "resnet.mar")));
    }

    [Fact]
    public void A_224x224_model_with_image_classifier_is_not()
    {
        var input = InputSpec.Parse("x:float32[batch,3,224,224]");
        var onnx = models.Convert(Models.ResNetPt, [input], "resnet224");
        var request = Requests.ResNet(models) with { OnnxPath = onnx, Inputs = [input], Handler = "image_classifier" };

        Assert.Empty(Packager.Package(request, TorchServeOnly, _out).Warnings);
    }

    [Theory]
    [InlineData("image_classifier", "x:float32[batch,3,224,224]", false)]
    [InlineData("image_classifier", "x:float32[batch,3,h,w]", false)]         // symbolic sizes take any image
    [InlineData("image_classifier", "x:float32[1,3,224,224]", false)]         // a static batch dim is not the image's size
    [InlineData("image_classifier", "x:float32[batch,1,224,224]", true)]      // the handler makes RGB images
    [InlineData("image_classifier", "x:float32[batch,3,224,256]", true)]
    [InlineData("image_classifier", "x:float32[batch,784]", true)]            // not an image batch at all
    [InlineData("image_segmenter", "x:float32[batch,3,520,520]", true)]
    [InlineData("object_detector", "x:float32[batch,3,64,64]", false)]        // keeps each image's own size
    [InlineData("base_handler", "x:float32[batch,3,64,64]", false)]
    [InlineData("my_handler.py", "x:float32[batch,3,64,64]", false)]
    public void Only_fixed_size_built_in_handlers_are_checked(string handler, string input, bool warns) =>
        Assert.Equal(warns, BuiltInHandlerInput.Check(handler, [InputSpec.Parse(input)]) is not null);

    private static void AssertSafe(IEnumerable<string> names) => Assert.All(names, name =>
    {
        Assert.False(Path.IsPathRooted(name), name);
        Assert.DoesNotContain("..", name.Split('/'));
        Assert.DoesNotContain('\\', name);
    });

    private static byte[] Read(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        return Read(stream);
    }

    private static byte[] Read(Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}

[Collection(EnvironmentCollection.Name)]
public sealed class BundleTimestampTests : IDisposable
{
    private readonly string _file = Path.GetTempFileName();

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(BundleTimestamp.EnvironmentVariable, null);
        File.Delete(_file);
    }

    [Fact]
    public void Source_date_epoch_wins_over_the_file_time()
    {
        Environment.SetEnvironmentVariable(BundleTimestamp.EnvironmentVariable, "1742210457");
        Assert.Equal(new DateTimeOffset(2025, 3, 17, 11, 20, 57, TimeSpan.Zero), BundleTimestamp.Resolve(null, _file));
    }

    [Fact]
    public void Without_it_the_files_time_is_used_and_clamped_to_1980()
    {
        Environment.SetEnvironmentVariable(BundleTimestamp.EnvironmentVariable, null);
        File.SetLastWriteTimeUtc(_file, new DateTime(2024, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc));
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero), BundleTimestamp.Resolve(null, _file));
        Assert.Equal(BundleTimestamp.Earliest, BundleTimestamp.Resolve(DateTimeOffset.UnixEpoch, _file));
    }

    [Fact]
    public void A_malformed_source_date_epoch_is_reported()
    {
        Environment.SetEnvironmentVariable(BundleTimestamp.EnvironmentVariable, "yesterday");
        Rules.Fails(DiagnosticCode.BundleNameInvalid, "is not a non-negative number of seconds", () => BundleTimestamp.Resolve(null, _file));
    }
}
