using System.IO.Compression;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Archive;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Archive;

/// <summary>
/// The wrong files users pass most often each get their own diagnostic: a PyTorch Mobile model (MF1006), an ONNX
/// file (MF1002 naming ONNX), a truncated download (MF1004 saying so). The state_dict case is
/// <see cref="TorchScriptArchiveTests.State_dict_is_MF1003_with_a_torch_jit_hint"/>.
/// </summary>
public class CommonMistakeTests
{
    /// <summary>Written by make_mobile_fixture.py (Debian's PyTorch 1.13, _save_for_lite_interpreter).</summary>
    private static string MobileFixture(string name) => Path.Combine(RepoPaths.Root, "tests", "Convert.Tests", "Archive", "TestData", name);

    [Fact]
    public void Mobile_flatbuffer_is_MF1006_with_a_torch_jit_save_hint()
    {
        var e = Throws(DiagnosticCode.MobileArchive, () => TorchScriptArchive.Open(MobileFixture("model_flatbuffer.ptl")));
        Assert.Contains("PyTorch Mobile", e.Message);
        Assert.Contains("torch.jit.save", e.Diagnostics[0].Hint);
    }

    [Fact]
    public void Mobile_zip_without_code_is_MF1006_with_a_torch_jit_save_hint()
    {
        // A lite-interpreter zip stripped to what the mobile runtime needs: bytecode.pkl, data.pkl, constants.pkl.
        using var dir = new TempDir();
        var stripped = dir.File("stripped.ptl");
        using (var source = ZipFile.OpenRead(MobileFixture("model.ptl")))
        {
            Assert.Contains(source.Entries, e => e.FullName.EndsWith("/bytecode.pkl", StringComparison.Ordinal));
            WriteZip(stripped, source.Entries
                .Where(e => !e.FullName.Contains("/code/", StringComparison.Ordinal))
                .Select(e => (e.FullName, ReadAll(e))).ToList());
        }
        var e = Throws(DiagnosticCode.MobileArchive, () => TorchScriptArchive.Open(stripped));
        Assert.Contains("bytecode.pkl", e.Message);
        Assert.Contains("torch.jit.save", e.Diagnostics[0].Hint);
    }

    [Fact]
    public void Mobile_zip_that_still_holds_TorchScript_code_converts()
    {
        // PyTorch 1.13 writes the full TorchScript archive next to bytecode.pkl; nothing is missing, so it converts.
        using var result = ModelConverter.Convert(MobileFixture("model.ptl"), new ConvertOptions([InputSpec.Parse("x:float32[batch,2]")]));
        Assert.Single(result.Graph.Outputs);
    }

    [Fact]
    public void Onnx_file_passed_as_the_source_is_MF1002_naming_ONNX()
    {
        using var dir = new TempDir();
        using (var result = ModelConverter.Convert(RepoPaths.Fixture("ops", "add", "model.pt"),
                   new ConvertOptions(Spec(RepoPaths.Fixture("ops", "add", "spec.json")))))
        {
            result.WriteTo(dir.File("model.onnx"));
        }
        // Recognised by its content, not only by the extension.
        File.Copy(dir.File("model.onnx"), dir.File("renamed.pt"));
        foreach (var name in new[] { "model.onnx", "renamed.pt" })
        {
            var e = Throws(DiagnosticCode.NotAZipArchive, () => TorchScriptArchive.Open(dir.File(name)));
            Assert.Contains("ONNX model", e.Message);
        }
    }

    [Fact]
    public void Truncated_download_is_MF1004_saying_truncated()
    {
        var bytes = File.ReadAllBytes(RepoPaths.Fixture("ops", "conv_bn_relu", "model.pt"));
        using var dir = new TempDir();
        var file = dir.File("partial.pt");
        foreach (var fraction in new[] { 0.1, 0.5, 0.9, 0.99 })
        {
            File.WriteAllBytes(file, bytes[..(int)(bytes.Length * fraction)]);
            var e = Throws(DiagnosticCode.ArchiveCorrupt, () => TorchScriptArchive.Open(file).Dispose());
            Assert.Contains("truncated", e.Message);
        }
    }

    private static byte[] ReadAll(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static List<InputSpec> Spec(string path)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("inputs").EnumerateArray().Select(input =>
        {
            var dims = input.GetProperty("dims").EnumerateArray().Select(d => d.ToString());
            return InputSpec.Parse($"{input.GetProperty("name").GetString()}:{input.GetProperty("dtype").GetString()}[{string.Join(",", dims)}]");
        }).ToList();
    }
}
