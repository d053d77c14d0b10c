using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ModelForge.Package;

/// <summary>
/// YAML through YamlDotNet's representation model: mappings keep the order they are built in (the order is part of
/// each format), and strings that would read as another type (<c>"1"</c>, <c>"true"</c>) are quoted by the caller.
/// </summary>
internal static class YamlText
{
    public static YamlMappingNode Map(params (string Key, YamlNode? Value)[] entries)
    {
        var map = new YamlMappingNode();
        foreach (var (key, value) in entries)
            if (value is not null) map.Add(new YamlScalarNode(key), value);
        return map;
    }

    public static YamlScalarNode Plain(string value) => new(value);

    public static YamlScalarNode Int(long value) => new(value.ToString(CultureInfo.InvariantCulture));

    public static YamlScalarNode Quoted(string value) => new(value) { Style = ScalarStyle.DoubleQuoted };

    /// <summary>One document, "\n" line ends, no document markers.</summary>
    public static string Write(YamlNode root)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        var text = writer.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
        if (text.EndsWith("...\n", StringComparison.Ordinal)) text = text[..^4];
        return text.EndsWith('\n') ? text : text + "\n";
    }
}
