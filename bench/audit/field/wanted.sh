# Which files of a labelled repository the field trees hold (sourced by
# fetch.sh and extract_mirror.sh): what the audit reads when it audits a
# checkout. The workflows (.github/workflows/*.yml|yaml, not their
# sub-directories) and every local action (any */action.yml|yaml under
# .github/, also in a sub-directory of .github/workflows/); the scripts a
# step can start (*.sh|*.bash|*.ps1 under .github/, scripts/, script/,
# ci/, tools/, build/ and install/, and those at the top level); the
# top-level package.json (package scripts), Makefile, justfile, Taskfile
# and GoReleaser configuration.
wanted_path() {
    case "$1" in
        .github/*/action.yml|.github/*/action.yaml) return 0 ;;
        .github/workflows/*/*) return 1 ;;
        .github/workflows/*.yml|.github/workflows/*.yaml) return 0 ;;
        package.json|Makefile|GNUmakefile|makefile) return 0 ;;
        justfile|Justfile|JUSTFILE|.justfile) return 0 ;;
        [Tt]askfile.yml|[Tt]askfile.yaml|[Tt]askfile.dist.yml|[Tt]askfile.dist.yaml) return 0 ;;
        .goreleaser.yml|.goreleaser.yaml|goreleaser.yml|goreleaser.yaml) return 0 ;;
        .config/goreleaser.yml|.config/goreleaser.yaml) return 0 ;;
        */*.sh|*/*.bash|*/*.ps1)
            case "$1" in
                .github/*|scripts/*|script/*|ci/*|tools/*|build/*|install/*) return 0 ;;
            esac
            return 1 ;;
        *.sh|*.bash|*.ps1) return 0 ;;
    esac
    return 1
}
