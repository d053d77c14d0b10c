using System.Formats.Tar;
using System.IO.Compression;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Package.KServe;
using ModelForge.Package.Processing;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Triton;
using ModelForge.Package.Tuning;

namespace ModelForge.Package.Tests;

/// <summary>
/// A model written with external data (resnet.onnx + resnet.onnx.data, location "resnet.onnx.data"): every bundle
/// carries the data file next to the model under that name, ONNX Runtime loads the model from inside the bundle and
/// gives the outputs of the model as converted, and a missing data file is MF4011 before anything is written.
/// </summary>
[Collection(ModelsCollection.Name)]
public sealed class ExternalDataTests : IDisposable
{
    private const string DataName = "resnet.onnx.data";
    private readonly string _out = Directory.CreateTempSubdirectory("modelforge-package-extdata-").FullName;
    private readonly Models _models;
    private readonly string _onnx;
    private readonly float[] _input;
    private readonly float[] _expected;

    public ExternalDataTests(Models models)
    {
        _models = models;
        _onnx = Path.Combine(_out, "model", "resnet.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(_onnx)!);
        using (var result = ModelConverter.Convert(Models.ResNetPt, new ConvertOptions([Models.ResNetInput]) { ExternalData = true }))
            result.WriteTo(_onnx);
        Assert.True(File.Exists(_onnx + ".data"));
        var random = new Random(7);
        _input = Enumerable.Range(0, 3 * 64 * 64).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        _expected = Run(models.ResNetOnnx);
    }

    public void Dispose() => Directory.Delete(_out, recursive: true);

    private PackageRequest Request() => Requests.ResNet(_models) with { OnnxPath = _onnx };

    /// <summary>Runs the model at <paramref name="onnxPath"/> (ONNX Runtime finds external data in its folder) on the fixed input.</summary>
    private float[] Run(string onnxPath)
    {
        using var session = new InferenceSession(onnxPath);
        using var outputs = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(_input, [1, 3, 64, 64]))]);
        return outputs.Single().AsEnumerable<float>().ToArray();
    }

    [Fact]
    public void Triton_version_folder_holds_the_model_and_its_data_file()
    {
        var model = TritonRepositoryWriter.Write(Request(), Path.Combine(_out, "triton"));
        var version = Path.Combine(model.ModelDirectory, "1");
        Assert.Equal([PackageLayout.OnnxFileName, DataName], Directory.GetFiles(version).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(File.ReadAllBytes(_onnx + ".data"), File.ReadAllBytes(Path.Combine(version, DataName)));
        Assert.Equal(_expected, Run(Path.Combine(version, PackageLayout.OnnxFileName)));
    }

    [Theory]
    [InlineData(MarFormat.Default)]
    [InlineData(MarFormat.Tgz)]
    public void TorchServe_archive_holds_the_data_file_next_to_the_serialized_model(MarFormat format)
    {
        var archive = TorchServeArchiver.Write(Request(), Path.Combine(_out, "store"), new TorchServeOptions { Serialized = SerializedModel.Onnx, Format = format });
        var extracted = Path.Combine(_out, "extracted");
        if (format == MarFormat.Tgz)
        {
            using var gzip = new GZipStream(File.OpenRead(archive.Path), CompressionMode.Decompress);
            Directory.CreateDirectory(extracted);
            TarFile.ExtractToDirectory(gzip, extracted, overwriteFiles: false);
            extracted = Path.Combine(extracted, "resnet");
        }
        else
            ZipFile.ExtractToDirectory(archive.Path, extracted);
        Assert.True(File.Exists(Path.Combine(extracted, DataName)), $"{DataName} is not at the archive root");
        Assert.Equal(_expected, Run(Path.Combine(extracted, "resnet.onnx")));
    }

    [Fact]
    public void KServe_storage_layouts_carry_the_data_file()
    {
        var triton = KServeWriter.WriteTriton(Request(), Path.Combine(_out, "kserve-triton"), new KServeOptions("s3://models/resnet"));
        Assert.True(File.Exists(Path.Combine(triton.StorageDirectory, "resnet", "1", DataName)));
        var torchServe = KServeWriter.WriteTorchServe(Request(), Path.Combine(_out, "kserve-ts"), new KServeOptions("s3://models/resnet"),
            new TorchServeOptions { Serialized = SerializedModel.Onnx });
        using var zip = ZipFile.OpenRead(Path.Combine(torchServe.StorageDirectory, "model-store", "resnet.mar"));
        Assert.NotNull(zip.GetEntry(DataName));
    }

    [Fact]
    public void A_missing_data_file_is_MF4011_for_every_bundle_and_the_tuner()
    {
        File.Move(_onnx + ".data", _onnx + ".moved");
        Rules.Fails(DiagnosticCode.PackageExternalDataMissing, DataName, () => TritonRepositoryWriter.Plan(Request()));
        Rules.Fails(DiagnosticCode.PackageExternalDataMissing, DataName,
            () => TorchServeArchiver.Plan(Request(), new TorchServeOptions { Serialized = SerializedModel.Onnx }));
        Rules.Fails(DiagnosticCode.PackageExternalDataMissing, DataName,
            () => BatchTuner.Tune(_onnx, [Models.ResNetInput], new TuningObjective(), TuningOptions.For(TuningLevel.Quick)));
        Assert.False(Directory.Exists(Path.Combine(_out, "triton")));
    }

    [Fact]
    public void A_location_outside_the_model_folder_is_MF4011()
    {
        var escaping = Path.Combine(_out, "model", "escaping.onnx");
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(_onnx));
        foreach (var entry in model.Graph.Initializer.SelectMany(t => t.ExternalData).Where(e => e.Key == "location"))
            entry.Value = "../model/" + DataName;
        File.WriteAllBytes(escaping, Google.Protobuf.MessageExtensions.ToByteArray(model));
        Rules.Fails(DiagnosticCode.PackageExternalDataMissing, "not a file in the model's folder", () => TritonRepositoryWriter.Plan(Request() with { OnnxPath = escaping }));
    }

    [Fact]
    public void The_tuner_measures_a_model_with_external_data()
    {
        var options = new TuningOptions
        {
            BatchSizes = [1, 2],
            InstanceCounts = [1],
            Cores = 2,
            Measurement = Tuning.TunerTestData.Windows(warmupMs: 10, windowMs: 20, maxWindowMs: 200, minRequests: 3, maxWindows: 4),
        };
        var result = BatchTuner.Tune(_onnx, [Models.ResNetInput], new TuningObjective(), options);
        Assert.Equal(2, result.Report.Measurements.Count);
        Assert.All(result.Report.Measurements, m => Assert.True(m.Succeeded, m.Failure));
    }

    [Fact]
    public void Fused_model_reads_the_data_file_copied_next_to_it_and_in_its_Triton_folder()
    {
        var options = new ProcessingOptions { Preprocess = new ImagePreprocess(), Postprocess = new ClassifierPostprocess { Softmax = true }, Fused = true };
        var external = ProcessingPlan.Resolve(options, _onnx, null);
        var files = ProcessingFiles.Write(external, "resnet", Path.Combine(_out, "processing"));
        var inline = ProcessingFiles.Write(ProcessingPlan.Resolve(options, _models.ResNetOnnx, null), "resnet", Path.Combine(_out, "processing-inline"));

        Assert.Equal([Path.Combine(_out, "processing", DataName)], files.FusedDataPaths);
        Assert.Equal(File.ReadAllBytes(_onnx + ".data"), File.ReadAllBytes(files.FusedDataPaths[0]));
        Assert.Empty(inline.FusedDataPaths);
        var image = new DenseTensor<byte>(Enumerable.Range(0, 64 * 64 * 3).Select(i => (byte)(i * 37 % 256)).ToArray(), [1, 64, 64, 3]);
        float[] Scores(string fusedPath)
        {
            using var session = new InferenceSession(fusedPath);
            using var outputs = session.Run([NamedOnnxValue.CreateFromTensor("image", image)]);
            return outputs.Single(o => o.Name == "scores").AsEnumerable<float>().ToArray();
        }
        var expected = Scores(inline.FusedPath!);
        Assert.Equal(expected, Scores(files.FusedPath!));

        var triton = TritonRepositoryWriter.Write(TritonEnsembleWriter.PlanFused(Request(), new TritonOptions(), external, files.FusedPath!), Path.Combine(_out, "triton"));
        var version = Path.Combine(triton.ModelDirectory, "1");
        Assert.Equal([PackageLayout.OnnxFileName, DataName], Directory.GetFiles(version).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(expected, Scores(Path.Combine(version, PackageLayout.OnnxFileName)));
    }
}
