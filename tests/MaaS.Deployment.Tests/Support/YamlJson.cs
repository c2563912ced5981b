using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MaaS.Deployment.Tests.Support;

/// <summary>
/// YAML documents as System.Text.Json nodes, with YAML 1.2 core-schema typing of plain scalars (7001 is a
/// number, "7001" a string, true a boolean) and merge keys (<c>&lt;&lt;: *anchor</c>, explicit keys win),
/// which compose files use. Parsing is YamlDotNet's; only the mapping to JSON is here.
/// </summary>
public static partial class YamlJson
{
    /// <summary>Every document of a YAML stream (empty documents skipped).</summary>
    public static List<JsonNode> LoadAll(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Where(d => d.RootNode is not YamlScalarNode { Value: null or "" })
            .Select(d => ToJson(d.RootNode)!).ToList();
    }

    /// <summary>The one document of a YAML text.</summary>
    public static JsonNode Load(string yaml) => LoadAll(yaml).Single();

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => Mapping(map),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new InvalidOperationException($"Unsupported YAML node {node.NodeType} at {node.Start}."),
    };

    private static JsonObject Mapping(YamlMappingNode map)
    {
        var result = new JsonObject();
        var merges = new List<YamlNode>();
        foreach (var (key, value) in map.Children)
        {
            var name = ((YamlScalarNode)key).Value ?? "";
            if (name == "<<" && ((YamlScalarNode)key).Style == ScalarStyle.Plain)
            {
                merges.Add(value);
                continue;
            }
            if (result.ContainsKey(name))
            {
                throw new InvalidOperationException($"Duplicate key '{name}' at {key.Start}.");
            }
            result[name] = ToJson(value);
        }
        // Merged keys never override keys written in the mapping itself (YAML merge key rules).
        foreach (var merge in merges)
        {
            var sources = merge is YamlSequenceNode seq ? seq.Children.ToList() : [merge];
            foreach (var source in sources)
            {
                foreach (var (k, v) in Mapping((YamlMappingNode)source))
                {
                    if (!result.ContainsKey(k))
                    {
                        result[k] = v?.DeepClone();
                    }
                }
            }
        }
        return result;
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }
        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }
        if (text is "true" or "True" or "TRUE")
        {
            return JsonValue.Create(true);
        }
        if (text is "false" or "False" or "FALSE")
        {
            return JsonValue.Create(false);
        }
        if (IntPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return JsonValue.Create(l);
        }
        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return JsonValue.Create(d);
        }
        return JsonValue.Create(text);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}
