import DQCPasses
import Testing

@Suite struct PipelineTests {
  @Test func parsesPassesAndTypedOptions() throws {
    let pipeline = try Pipeline(
      parsing: " canonicalize{fold-limit=16, max-iterations=3} , cse,dce{aggressive=true}")
    #expect(pipeline.entries.map { $0.pass.name } == ["canonicalize", "cse", "dce"])
    #expect(pipeline.entries[0].options["fold-limit"] == .int(16))
    #expect(pipeline.entries[2].options["aggressive"] == .bool(true))
    #expect(
      pipeline.description
        == "canonicalize{fold-limit=16,max-iterations=3},cse,dce{aggressive=true}")
    #expect(try Pipeline(parsing: "").entries.isEmpty)
    #expect(try Pipeline(parsing: "dce{}").description == "dce")
  }

  @Test(arguments: [
    (
      "frobnicate",
      "pipeline:1: error: unknown pass 'frobnicate' (known: \(PassRegistry.names.joined(separator: ", ")))"
    ),
    (
      "cse,dce{aggressive=yes}",
      "pipeline:20: error: pass 'dce' option 'aggressive': expected a bool (true or false), got 'yes'"
    ),
    (
      "canonicalize{fold-limit=lots}",
      "pipeline:25: error: pass 'canonicalize' option 'fold-limit': expected an integer, got 'lots'"
    ),
    (
      "dce{eager=true}",
      "pipeline:5: error: pass 'dce' option 'eager': unknown option (known: aggressive)"
    ),
    ("cse{x=1}", "pipeline:5: error: pass 'cse' option 'x': unknown option (the pass has none)"),
    ("dce{aggressive=true", "pipeline:20: error: expected '}' closing the options of 'dce'"),
    ("dce,", "pipeline:5: error: expected a pass name"),
    ("dce cse", "pipeline:5: error: expected ',' or end of pipeline, found 'c'"),
    ("dce{aggressive true}", "pipeline:16: error: expected '=' after option 'aggressive'"),
  ])
  func reportsErrorsWithColumns(_ text: String, _ expected: String) {
    do {
      _ = try Pipeline(parsing: text)
      Issue.record("'\(text)' parsed")
    } catch {
      #expect(error.description == expected)
    }
  }
}

@Suite struct LayerSelectionTests {
  @Test func globsMatchNameSuffixesAtDots() {
    let selection = LayerSelection(only: "blocks.0.*|*.ff_out.weight", except: "*.q_proj.*")
    #expect(selection.selects("model.transformer.blocks.0.k_proj.weight"))
    #expect(!selection.selects("model.transformer.blocks.0.q_proj.weight"))
    #expect(selection.selects("model.transformer.blocks.3.ff_out.weight"))
    #expect(!selection.selects("model.transformer.blocks.10.k_proj.weight"))
    #expect(!selection.selects("model.transformer.xblocks.0.k_proj.weight"))
    #expect(LayerSelection().selects("anything"))
  }
}
